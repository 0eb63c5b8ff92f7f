/*
 * Preloaded into the test Chromium (test/helpers/browser.ts). Chromium follows the host's network
 * through a NETLINK_ROUTE socket and aborts every request in flight when an address appears or
 * goes (net::ERR_NETWORK_CHANGED) -- and parallel test files create and remove Docker networks all
 * the time. Refusing that one kind of socket makes Chromium take its "always online" path; every
 * other socket is the C library's own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol) {
  static int (*real_socket)(int, int, int);
  if (!real_socket) real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  if (domain == AF_NETLINK && protocol == NETLINK_ROUTE) {
    errno = EAFNOSUPPORT;
    return -1;
  }
  return real_socket(domain, type, protocol);
}
