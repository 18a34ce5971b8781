/* glibc's <netinet/in.h> first: linux/libc-compat.h then skips the uapi in_addr/in6_addr
 * definitions that <linux/netfilter.h> would otherwise bring in a second time. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/udata.h>
#include <libnftnl/gen.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_nat.h>
