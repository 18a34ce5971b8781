// attach_floor.c — the kernel-work floor for Berth's attach / detach, in plain C on libmnl.
//
//   usage: attach_floor ITERATIONS HOST_NETNS_PATH SANDBOX_PREFIX BRIDGE [--steps | --keep | --disable-ipv6]
//
// Enters the "host" namespace HOST_NETNS_PATH (which holds BRIDGE with 10.77.0.1/16, up), then
// for i = 0..ITERATIONS (round 0 is a warm-up, not printed) attaches the fresh sandbox
// /run/netns/<SANDBOX_PREFIX><i> and detaches it again, sending exactly the requests Berth sends:
//
//   create half  host socket:    RTM_NEWLINK veth vb<i> up, IFLA_MASTER bridge,
//                                VETH_INFO_PEER{eth0, IFLA_NET_NS_FD sandbox}      (ACK)
//                sandbox socket: opened with setns(sandbox) / socket / setns(host)
//                                RTM_GETLINK eth0 (IFLA_EXT_MASK skip stats)       (reply + ACK)
//                                RTM_NEWADDR 10.77.x.y/16 brd 10.77.255.255        (ACK)
//                                RTM_NEWLINK eth0 up, RTM_NEWLINK lo up            (ACK each)
//                                RTM_NEWROUTE default via 10.77.0.1                (ACK)
//                                close
//   delete half  host socket:    RTM_DELLINK vb<i> (by name)                        (ACK)
//
// Each half is timed with clock_gettime(CLOCK_MONOTONIC); one line per operation:
// "create <i> <us>", "delete <i> <us>" (and with --steps "step <name> <i> <us>").
// --keep stops after the warm-up attach, leaving it in place for inspection.
// --disable-ipv6 adds what Docker (and Berth) do for an IPv4-only endpoint and the floor does not:
// net.ipv6.conf.eth0.disable_ipv6 = 1, read then written inside the sandbox right after the
// socket is opened there (the kernel cost of that sysctl in a fresh namespace, issue 11).
// Refuses to run unless BERTH_SANDBOX=1 and outside the machine's own network namespace.
//
// build: cc -O2 -Wall -o attach_floor attach_floor.c $(pkg-config --cflags --libs libmnl)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct nl {
    struct mnl_socket *sock;
    unsigned portid;
    unsigned seq;
};

static char rx[1 << 16];   // receive buffer (same size as Berth's)
static char tx[4096];      // request buffer

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what, int err) {
    fprintf(stderr, "attach_floor: %s: %s\n", what, strerror(err));
    exit(1);
}

// Opens and binds a NETLINK_ROUTE socket in the calling thread's namespace, with the options
// Berth's MnlSocket sets (ext-ack, cap-ack, 5 s send/receive time-outs).
static void nl_open(struct nl *nl) {
    nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl->sock) fail("mnl_socket_open2", errno);
    int one = 1;
    mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof one);
    mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof one);
    struct timeval tv = { .tv_sec = 5 };
    int fd = mnl_socket_get_fd(nl->sock);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv))
        fail("setsockopt", errno);
    if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) fail("mnl_socket_bind", errno);
    nl->portid = mnl_socket_get_portid(nl->sock);
    nl->seq = 1;
}

// Sends nlh (stamped with the next sequence number) and reads replies until the ACK; data
// messages go to cb. Returns 0 or -errno from the kernel's NLMSG_ERROR.
static int nl_exchange(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
    nlh->nlmsg_seq = nl->seq++;
    if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) fail("sendto", errno);
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl->sock, rx, sizeof rx);
        if (n < 0) fail("recvfrom", errno);
        int r = mnl_cb_run(rx, (size_t)n, nlh->nlmsg_seq, nl->portid, cb, data);
        if (r == MNL_CB_STOP) return 0;
        if (r < 0) return -errno;
    }
}

static void must(int r, const char *what) {
    if (r < 0) fail(what, -r);
}

static struct nlmsghdr *begin(uint16_t type, uint16_t extra_flags) {
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(tx);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
    return nlh;
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *nlh, int index, int set_up) {
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    if (set_up) { ifi->ifi_flags = IFF_UP; ifi->ifi_change = IFF_UP; }
    return ifi;
}

// RTM_NEWLINK: veth NAME (up, master BRIDGE) with peer PEER created in namespace NSFD.
static void veth_add(struct nl *nl, const char *name, int master, const char *peer, int nsfd) {
    struct nlmsghdr *nlh = begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    put_ifinfo(nlh, 0, 1);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
    struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    struct nlattr *idata = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    struct nlattr *p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    put_ifinfo(nlh, 0, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)nsfd);
    mnl_attr_nest_end(nlh, p);
    mnl_attr_nest_end(nlh, idata);
    mnl_attr_nest_end(nlh, info);
    must(nl_exchange(nl, nlh, NULL, NULL), "veth add");
}

static int on_link(const struct nlmsghdr *nlh, void *data) {
    if (nlh->nlmsg_type == RTM_NEWLINK) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        *(int *)data = ifi->ifi_index;
    }
    return MNL_CB_OK;
}

// RTM_GETLINK by name: the link's index.
static int link_index(struct nl *nl, const char *name) {
    struct nlmsghdr *nlh = begin(RTM_GETLINK, 0);
    put_ifinfo(nlh, 0, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    int index = 0;
    must(nl_exchange(nl, nlh, on_link, &index), "get link");
    if (index <= 0) fail("get link: no index", ENODEV);
    return index;
}

static void link_set_up(struct nl *nl, int index) {
    struct nlmsghdr *nlh = begin(RTM_NEWLINK, 0);
    put_ifinfo(nlh, index, 1);
    must(nl_exchange(nl, nlh, NULL, NULL), "link up");
}

static void link_del(struct nl *nl, const char *name) {
    struct nlmsghdr *nlh = begin(RTM_DELLINK, 0);
    put_ifinfo(nlh, 0, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    must(nl_exchange(nl, nlh, NULL, NULL), "link del");
}

// RTM_NEWADDR ADDR/PLEN brd BRD on INDEX.
static void addr_add(struct nl *nl, int index, uint32_t addr, int plen, uint32_t brd) {
    struct nlmsghdr *nlh = begin(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)plen;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)index;
    mnl_attr_put_u32(nlh, IFA_LOCAL, addr);
    mnl_attr_put_u32(nlh, IFA_ADDRESS, addr);
    mnl_attr_put_u32(nlh, IFA_BROADCAST, brd);
    must(nl_exchange(nl, nlh, NULL, NULL), "addr add");
}

// RTM_NEWROUTE default via GW (main table, proto boot, scope universe).
static void route_add_default(struct nl *nl, uint32_t gw) {
    struct nlmsghdr *nlh = begin(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = AF_INET;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put_u32(nlh, RTA_GATEWAY, gw);
    must(nl_exchange(nl, nlh, NULL, NULL), "route add");
}

// Docker's sysctl on an IPv4-only endpoint's interface, as Berth writes it (read first, write
// only when different), in the calling thread's namespace: net.ipv6.conf.eth0.disable_ipv6 = 1.
static void disable_ipv6_eth0(void) {
    const char *path = "/proc/sys/net/ipv6/conf/eth0/disable_ipv6";
    char value[16] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, errno);
    ssize_t n = read(fd, value, sizeof value - 1);
    close(fd);
    if (n > 0 && value[0] == '1') return;
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "1\n", 2) != 2) fail(path, errno);
    close(fd);
}

static void refuse_unless_sandboxed(void) {
    const char *flag = getenv("BERTH_SANDBOX");
    if (!flag || strcmp(flag, "1") != 0) {
        fprintf(stderr, "attach_floor: refusing to run outside the sandbox (BERTH_SANDBOX=1 not set)\n");
        exit(2);
    }
    struct stat mine, init;
    if (stat("/proc/self/ns/net", &mine)) fail("stat /proc/self/ns/net", errno);
    const char *others[] = { "/proc/1/ns/net", "/proc/2/ns/net" };
    for (int k = 0; k < 2; k++) {
        if (stat(others[k], &init) == 0 && init.st_ino == mine.st_ino && init.st_dev == mine.st_dev) {
            fprintf(stderr, "attach_floor: refusing to run in the machine's own network namespace\n");
            exit(2);
        }
    }
}

static const char *step_names[] = { "veth-create", "open-sandbox-session", "getlink-eth0", "addr-add",
                                    "eth0-up", "lo-up", "route-add" };

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s ITERATIONS HOST_NETNS_PATH SANDBOX_PREFIX BRIDGE [--steps | --keep | --disable-ipv6]\n", argv[0]);
        return 2;
    }
    refuse_unless_sandboxed();
    int iterations = atoi(argv[1]);
    const char *host_path = argv[2], *prefix = argv[3], *bridge = argv[4];
    int steps = argc > 5 && strcmp(argv[5], "--steps") == 0;
    int keep = argc > 5 && strcmp(argv[5], "--keep") == 0;
    int v6off = argc > 5 && strcmp(argv[5], "--disable-ipv6") == 0;

    int hostfd = open(host_path, O_RDONLY | O_CLOEXEC);
    if (hostfd < 0) fail(host_path, errno);
    if (setns(hostfd, CLONE_NEWNET)) fail("setns host", errno);

    struct nl host;
    nl_open(&host);
    int br = link_index(&host, bridge);
    uint32_t gw = htonl(0x0a4d0001), brd = htonl(0x0a4dffff);   // 10.77.0.1, 10.77.255.255

    // Sandbox handles are opened before the timed region, as Berth's fixture holds them open.
    int *sandbox = calloc((size_t)iterations + 1, sizeof *sandbox);
    char path[512], vname[IFNAMSIZ];
    for (int i = 0; i <= iterations; i++) {
        snprintf(path, sizeof path, "/run/netns/%s%d", prefix, i);
        sandbox[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (sandbox[i] < 0) fail(path, errno);
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 20);   // print at the end, never inside a timed region

    uint64_t lap[8];
    for (int i = 0; i <= iterations; i++) {
        snprintf(vname, sizeof vname, "vb%d", i);
        // Same addressing as Berth's fixture: 10.77.(1 + i/250).(2 + i%250).
        uint32_t addr = htonl(0x0a4d0000u | (uint32_t)(1 + (i / 250) % 250) << 8 | (uint32_t)(2 + i % 250));

        uint64_t t0 = now_ns();
        veth_add(&host, vname, br, "eth0", sandbox[i]);
        lap[0] = now_ns();
        struct nl inner;
        if (setns(sandbox[i], CLONE_NEWNET)) fail("setns sandbox", errno);
        nl_open(&inner);
        if (v6off) disable_ipv6_eth0();
        if (setns(hostfd, CLONE_NEWNET)) fail("setns host", errno);
        lap[1] = now_ns();
        int eth0 = link_index(&inner, "eth0");
        lap[2] = now_ns();
        addr_add(&inner, eth0, addr, 16, brd);
        lap[3] = now_ns();
        link_set_up(&inner, eth0);
        lap[4] = now_ns();
        link_set_up(&inner, 1);   // lo is always ifindex 1
        lap[5] = now_ns();
        route_add_default(&inner, gw);
        lap[6] = now_ns();
        mnl_socket_close(inner.sock);
        uint64_t t1 = now_ns();
        if (keep) return 0;
        link_del(&host, vname);
        uint64_t t2 = now_ns();

        if (i == 0) continue;   // warm-up round
        printf("create %d %.3f\n", i, (t1 - t0) / 1e3);
        printf("delete %d %.3f\n", i, (t2 - t1) / 1e3);
        if (steps) {
            uint64_t prev = t0;
            for (int k = 0; k < 7; k++) {
                printf("step %s %d %.3f\n", step_names[k], i, (lap[k] - prev) / 1e3);
                prev = lap[k];
            }
        }
    }
    fflush(stdout);
    for (int i = 0; i <= iterations; i++) close(sandbox[i]);
    free(sandbox);
    mnl_socket_close(host.sock);
    return 0;
}
