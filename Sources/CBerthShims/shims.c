#define _GNU_SOURCE
#include "berth_shims.h"

#include <errno.h>
#include <linux/magic.h>
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
