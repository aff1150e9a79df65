/* LD_PRELOAD shim for the keepalived comparison (see tcp_check.sh).
 *
 * keepalived's checker process exits with "IPVS: Can't initialize ipvs" on a
 * kernel without IP_VS. When its netlink probe fails, libipvs falls back to
 * the old sockopt interface; this shim answers those calls (on a raw socket,
 * levels IPPROTO_IP, IP_VS_SO_*) as an empty IPVS table would and accepts
 * every change without doing anything. Only the IPVS calls are intercepted:
 * the health checks themselves are keepalived's own, unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#define IP_VS_BASE_CTL (64 + 1024 + 64)
#define IP_VS_SO_GET_VERSION IP_VS_BASE_CTL
#define IP_VS_SO_GET_INFO (IP_VS_BASE_CTL + 1)
#define IP_VS_SO_GET_MAX (IP_VS_BASE_CTL + 7)
#define IP_VS_SO_SET_MAX (IP_VS_BASE_CTL + 15)

struct ip_vs_getinfo {
	unsigned int version, size, num_services;
};

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static int (*real)(int, int, int, void *, socklen_t *);

	if (level == IPPROTO_IP && name >= IP_VS_BASE_CTL && name <= IP_VS_SO_GET_MAX) {
		if (name == IP_VS_SO_GET_INFO && *len >= sizeof(struct ip_vs_getinfo)) {
			struct ip_vs_getinfo info = { 0x010201, 4096, 0 };
			memcpy(val, &info, sizeof info);
		} else if (name == IP_VS_SO_GET_VERSION) {
			strncpy(val, "IP Virtual Server version 1.2.1 (size=4096)", *len);
		} else {
			memset(val, 0, *len);
		}
		return 0;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, name, val, len);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);

	if (level == IPPROTO_IP && name >= IP_VS_BASE_CTL && name <= IP_VS_SO_SET_MAX)
		return 0;
	if (!real)
		real = dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, name, val, len);
}
