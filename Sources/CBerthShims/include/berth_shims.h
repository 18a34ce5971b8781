// Our own C: what Swift cannot import on Linux (glibc hides these behind _GNU_SOURCE or macros).
// Every function is a thin, documented wrapper over one system call or macro.
#ifndef BERTH_SHIMS_H
#define BERTH_SHIMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// setns(2) with CLONE_NEWNET: moves the calling thread into the network namespace `fd`.
/// Returns 0 or -1 with errno set.
int berth_setns_net(int fd);

/// unshare(2) with CLONE_NEWNET: gives the calling thread a new, empty network namespace.
int berth_unshare_net(void);

/// gettid(2): the kernel thread id of the caller.
pid_t berth_gettid(void);

/// ioctl(fd, NS_GET_NSTYPE): the CLONE_NEW* type of an nsfs file, or -1 with errno set.
int berth_ns_get_type(int fd);

/// CLONE_NEWNET as an int.
int berth_clone_newnet(void);

/// prctl(PR_SET_PDEATHSIG, sig) (prctl is variadic, which Swift cannot call). 0 or -1 with errno.
int berth_set_parent_death_signal(int sig);

/// POSIX_SPAWN_SETSID (glibc ≥ 2.26, behind _GNU_SOURCE): the child starts a new session.
short berth_posix_spawn_setsid(void);

/// 1 when `fd` lives on nsfs (statfs f_type == NSFS_MAGIC), 0 when not, -1 with errno on failure.
int berth_fd_is_nsfs(int fd);

/// mount(2) helpers for `ip netns add` semantics (iproute2 ip/ipnetns.c).
/// berth_mount_make_shared_rec: mount("", path, "none", MS_SHARED|MS_REC, NULL)
int berth_mount_make_shared_rec(const char *path);
/// berth_mount_bind_rec: mount(path, path, "none", MS_BIND|MS_REC, NULL)
int berth_mount_bind_self_rec(const char *path);
/// berth_mount_bind: mount(source, target, "none", MS_BIND, NULL)
int berth_mount_bind(const char *source, const char *target);
/// umount2(path, MNT_DETACH)
int berth_umount_detach(const char *path);

/// getsockopt(SO_NETNS_COOKIE) on a fresh AF_UNIX socket: the 64-bit cookie of the calling
/// thread's network namespace, unique for the life of the boot and never reused (Linux >= 5.14).
/// Returns 0, or -1 with errno set (ENOPROTOOPT on older kernels).
int berth_netns_cookie(uint64_t *cookie);

/// MNL_SOCKET_BUFFER_SIZE from libmnl (a function-like macro over getpagesize()).
size_t berth_mnl_socket_buffer_size(void);

/// Netlink function-like macros (linux/netlink.h) that Swift cannot import, so that unit tests
/// can compare the Swift mirrors (NetlinkParser.align, NetlinkMessageBuilder.headerLength,
/// RTNL.NLA_TYPE_MASK) with the C definitions.
/// NLMSG_ALIGN(len)
size_t berth_nlmsg_align(size_t len);
/// NLMSG_HDRLEN
int berth_nlmsg_hdrlen(void);
/// NLA_ALIGN(len)
size_t berth_nla_align(size_t len);
/// NLA_HDRLEN
int berth_nla_hdrlen(void);
/// NLA_TYPE_MASK
int berth_nla_type_mask(void);

/// TUN/TAP (linux/if_tun.h, Documentation/networking/tuntap.rst). Each runs in the calling
/// thread's network namespace: TUNSETIFF creates or finds the device there.
/// IFF_TAP, IFF_NO_PI, IFF_VNET_HDR, IFF_MULTI_QUEUE, IFF_TUN_EXCL as ints.
int berth_iff_tap(void);
int berth_iff_no_pi(void);
int berth_iff_vnet_hdr(void);
int berth_iff_multi_queue(void);
int berth_iff_tun_excl(void);
/// IFNAMSIZ (16, with the NUL).
int berth_ifnamsiz(void);
/// open("/dev/net/tun", O_RDWR|O_CLOEXEC[|O_NONBLOCK]) then ioctl(TUNSETIFF) with `flags` on
/// `name` (IFNAMSIZ bytes, NUL-terminated; a `%d` template is expanded by the kernel and the
/// chosen name written back). Returns the fd, or -1 with errno set (the fd is closed on failure).
int berth_tun_attach(char *name, int flags, int nonblock);
/// ioctl(TUNSETPERSIST, on).
int berth_tun_set_persist(int fd, int on);
/// ioctl(TUNSETOWNER, uid) / ioctl(TUNSETGROUP, gid).
int berth_tun_set_owner(int fd, uid_t uid);
int berth_tun_set_group(int fd, gid_t gid);
/// ioctl(TUNGETIFF): the device's flags (IFF_*) as the kernel reports them for this fd.
int berth_tun_get_flags(int fd, int *flags);
/// ioctl(TUNGETFEATURES): the IFF_* flags the kernel supports.
int berth_tun_get_features(int fd, unsigned int *features);

#ifdef __cplusplus
}
#endif
#endif
