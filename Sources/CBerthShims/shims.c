#define _GNU_SOURCE
#include "berth_shims.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/magic.h>
#include <net/if.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(sizeof(pid_t) == 4, "pid_t is 32 bits");

int berth_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }
int berth_unshare_net(void) { return unshare(CLONE_NEWNET); }
pid_t berth_gettid(void) { return (pid_t)syscall(SYS_gettid); }
int berth_ns_get_type(int fd) { return ioctl(fd, NS_GET_NSTYPE); }
int berth_clone_newnet(void) { return CLONE_NEWNET; }
int berth_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, (unsigned long)sig); }
short berth_posix_spawn_setsid(void) { return POSIX_SPAWN_SETSID; }

int berth_fd_is_nsfs(int fd) {
    struct statfs st;
    if (fstatfs(fd, &st) != 0) return -1;
    return st.f_type == NSFS_MAGIC ? 1 : 0;
}

int berth_mount_make_shared_rec(const char *path) {
    return mount("", path, "none", MS_SHARED | MS_REC, NULL);
}
int berth_mount_bind_self_rec(const char *path) {
    return mount(path, path, "none", MS_BIND | MS_REC, NULL);
}
int berth_mount_bind(const char *source, const char *target) {
    return mount(source, target, "none", MS_BIND, NULL);
}
int berth_umount_detach(const char *path) { return umount2(path, MNT_DETACH); }

size_t berth_nlmsg_align(size_t len) { return NLMSG_ALIGN(len); }
int berth_nlmsg_hdrlen(void) { return NLMSG_HDRLEN; }
size_t berth_nla_align(size_t len) { return NLA_ALIGN(len); }
int berth_nla_hdrlen(void) { return NLA_HDRLEN; }
int berth_nla_type_mask(void) { return NLA_TYPE_MASK; }

size_t berth_mnl_socket_buffer_size(void) {
    long page = sysconf(_SC_PAGESIZE);
    return page < 8192L ? (size_t)page : 8192UL;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

int berth_netns_cookie(uint64_t *cookie) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    socklen_t len = sizeof(*cookie);
    int rc = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int berth_iff_tap(void) { return IFF_TAP; }
int berth_iff_no_pi(void) { return IFF_NO_PI; }
int berth_iff_vnet_hdr(void) { return IFF_VNET_HDR; }
int berth_iff_multi_queue(void) { return IFF_MULTI_QUEUE; }
int berth_iff_tun_excl(void) { return IFF_TUN_EXCL; }
int berth_ifnamsiz(void) { return IFNAMSIZ; }

int berth_tun_attach(char *name, int flags, int nonblock) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = (short)flags;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = 0;
    return fd;
}

int berth_tun_set_persist(int fd, int on) { return ioctl(fd, TUNSETPERSIST, (unsigned long)(on ? 1 : 0)); }
int berth_tun_set_owner(int fd, uid_t uid) { return ioctl(fd, TUNSETOWNER, (unsigned long)uid); }
int berth_tun_set_group(int fd, gid_t gid) { return ioctl(fd, TUNSETGROUP, (unsigned long)gid); }

int berth_tun_get_flags(int fd, int *flags) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(fd, TUNGETIFF, &ifr) != 0) return -1;
    *flags = (unsigned short)ifr.ifr_flags;
    return 0;
}

int berth_tun_get_features(int fd, unsigned int *features) { return ioctl(fd, TUNGETFEATURES, features); }
