/* Test-only LD_PRELOAD shim: lets libserialport open Linux pseudo-terminals.
 *
 * libserialport 0.1.x looks a port up under /sys/class/tty/<name> (ptys are not
 * there) and calls the modem-control ioctls (ptys answer ENOTTY). This shim
 * pretends /sys/class/tty/pts/N is a virtual tty link and turns ENOTTY from the
 * modem-control ioctls into success. It changes nothing else. Never shipped in
 * the addon: it is built for the test suites only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static const char kPtsPrefix[] = "/sys/class/tty/pts/";

static int is_pts_sysfs(const char *path) { return path && strncmp(path, kPtsPrefix, sizeof kPtsPrefix - 1) == 0; }

static int fake_link_stat(struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_mode = S_IFLNK | 0777;
  return 0;
}

int lstat(const char *path, struct stat *st) {
  static int (*real)(const char *, struct stat *);
  if (is_pts_sysfs(path)) return fake_link_stat(st);
  if (!real) real = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, "lstat");
  return real(path, st);
}

/* glibc < 2.33 (Debian 12's libserialport was built against it) imports __lxstat. */
int __lxstat(int ver, const char *path, struct stat *st) {
  static int (*real)(int, const char *, struct stat *);
  if (is_pts_sysfs(path)) return fake_link_stat(st);
  if (!real) real = (int (*)(int, const char *, struct stat *))dlsym(RTLD_NEXT, "__lxstat");
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  return real(ver, path, st);
}

ssize_t readlink(const char *path, char *buf, size_t size) {
  static ssize_t (*real)(const char *, char *, size_t);
  if (is_pts_sysfs(path)) {
    static const char target[] = "../../devices/virtual/tty/pts";
    size_t n = sizeof target - 1 < size ? sizeof target - 1 : size;
    memcpy(buf, target, n);
    return (ssize_t)n;
  }
  if (!real) real = (ssize_t(*)(const char *, char *, size_t))dlsym(RTLD_NEXT, "readlink");
  return real(path, buf, size);
}

int ioctl(int fd, unsigned long request, ...) {
  static int (*real)(int, unsigned long, ...);
  va_list ap;
  va_start(ap, request);
  void *arg = va_arg(ap, void *);
  va_end(ap);
  if (!real) real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
  int rc = real(fd, request, arg);
  if (rc == -1 && errno == ENOTTY &&
      (request == TIOCMGET || request == TIOCMSET || request == TIOCMBIS || request == TIOCMBIC)) {
    if (request == TIOCMGET && arg) *(int *)arg = TIOCM_DTR | TIOCM_RTS | TIOCM_CTS | TIOCM_DSR;
    errno = 0;
    return 0;
  }
  return rc;
}
