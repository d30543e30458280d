// mbslave: the fast Modbus RTU slave for the benchmarks (bench/modbus-throughput.js,
// bench/wire-efficiency.js). Not part of fieldlink; built on demand by bench/lib/cbuild.js.
//
//   mbslave --openpty LINK [--unit 1]              libmodbus RTU server on the master side of
//                                                  a pty made with openpty(); LINK -> the slave
//   mbslave --path /dev/pts/N [--unit 1]           libmodbus RTU server on a device path
//                                                  (one end of a socat pty pair)
//   mbslave --openpty LINK --pace 9600 [--unit 1]  own responder that spends the real wire
//                                                  time: each request byte takes one character
//                                                  time to "arrive", the slave waits 3.5
//                                                  characters (end-of-frame silence) and sends
//                                                  its reply one byte per character time
//
// Prints "READY <path the master opens>" on stdout once it serves. On SIGTERM/SIGINT it prints
// one JSON line {"requests":..,"replies":..,"cpuUs":..} and exits.
//
// Input registers 0..9 hold 305, 546, 0, ... (an XY-MD02 at 30.5 °C, 54.6 %RH from address 1).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <modbus/modbus.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag = 0;
static volatile unsigned long long n_requests = 0, n_replies = 0;
// Paced mode: the master's turnaround (end of our reply -> first byte of its next request)
// and how late our last reply byte went out compared with the schedule, in µs.
static volatile unsigned long long turn_count = 0, turn_sum_us = 0, turn_max_us = 0, late_sum_us = 0, late_max_us = 0;
static const char *link_path = NULL;

static long long cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + (long long)ru.ru_stime.tv_sec * 1000000 +
         ru.ru_stime.tv_usec;
}

static size_t put_u64(char *out, unsigned long long v) {
  char tmp[24];
  size_t n = 0, i = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out[i++] = tmp[--n];
  return i;
}

static size_t put_str(char *out, const char *s) {
  size_t i = 0;
  while (s[i]) {
    out[i] = s[i];
    ++i;
  }
  return i;
}

// Prints {"requests":..,"replies":..,"cpuUs":..} with write(2) only: it runs in the signal
// handler, because libmodbus retries select() on EINTR and would never return to the loop.
static void report(void) {
  char b[400];
  size_t n = 0;
  n += put_str(b + n, "{\"requests\":");
  n += put_u64(b + n, n_requests);
  n += put_str(b + n, ",\"replies\":");
  n += put_u64(b + n, n_replies);
  n += put_str(b + n, ",\"cpuUs\":");
  n += put_u64(b + n, (unsigned long long)cpu_us());
  if (turn_count) {
    n += put_str(b + n, ",\"turnarounds\":");
    n += put_u64(b + n, turn_count);
    n += put_str(b + n, ",\"turnaroundUsSum\":");
    n += put_u64(b + n, turn_sum_us);
    n += put_str(b + n, ",\"turnaroundUsMax\":");
    n += put_u64(b + n, turn_max_us);
    n += put_str(b + n, ",\"latenessUsSum\":");
    n += put_u64(b + n, late_sum_us);
    n += put_str(b + n, ",\"latenessUsMax\":");
    n += put_u64(b + n, late_max_us);
  }
  n += put_str(b + n, "}\n");
  ssize_t w = write(1, b, n);
  (void)w;
}

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
  report();
  if (link_path) unlink(link_path);
  _exit(0);
}

static uint16_t crc16(const uint8_t *p, size_t n) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int b = 0; b < 8; ++b) crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
  }
  return crc;
}

// Makes a pty pair in raw mode. Keeps the slave fd open too: otherwise the master reads EIO
// between two clients (when nobody has the slave open).
static int make_pty(const char *link, int *slave_out, char *name, size_t name_len) {
  int master = -1, slave = -1;
  struct termios raw;
  memset(&raw, 0, sizeof raw);
  cfmakeraw(&raw);
  cfsetispeed(&raw, B9600);
  cfsetospeed(&raw, B9600);
  char buf[256];
  if (openpty(&master, &slave, buf, &raw, NULL) != 0) {
    perror("openpty");
    return -1;
  }
  snprintf(name, name_len, "%s", buf);
  if (link && *link) {
    unlink(link);
    if (symlink(buf, link) != 0) {
      perror("symlink");
      return -1;
    }
  }
  *slave_out = slave;
  return master;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until_ns(int64_t t) {
  struct timespec ts = {.tv_sec = t / 1000000000LL, .tv_nsec = t % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop_flag) {
  }
}

// libmodbus server loop: modbus_receive + modbus_reply with a mapping.
static int serve_libmodbus(modbus_t *ctx, int unit) {
  modbus_mapping_t *map = modbus_mapping_new(0, 0, 16, 16);
  if (!map) {
    fprintf(stderr, "modbus_mapping_new: %s\n", modbus_strerror(errno));
    return 1;
  }
  map->tab_input_registers[1] = 305;
  map->tab_input_registers[2] = 546;
  map->tab_registers[1] = 305;
  map->tab_registers[2] = 546;
  modbus_set_slave(ctx, unit);
  uint8_t req[MODBUS_RTU_MAX_ADU_LENGTH];
  while (!stop_flag) {
    int rc = modbus_receive(ctx, req);
    if (rc > 0) {
      ++n_requests;
      if (modbus_reply(ctx, req, rc, map) > 0) ++n_replies;
    } else if (rc < 0 && errno != EINTR && errno != ETIMEDOUT && errno != EMBBADCRC) {
      if (stop_flag) break;
      // EIO and friends while a client reopens: wait a little and go on.
      usleep(1000);
    }
  }
  modbus_mapping_free(map);
  return 0;
}

// Own responder that spends the wire time of 8N1 (10 bits per character) at `baud`.
static int serve_paced(int fd, int unit, int baud) {
  const int64_t c = (int64_t)(10.0 * 1e9 / baud);  // one character, ns
  const int64_t t35 = c * 35 / 10;
  uint8_t buf[512];
  size_t have = 0;
  int64_t first_at = 0, reply_end = 0;
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  while (!stop_flag) {
    int pr = poll(&pfd, 1, have ? 50 : 500);
    if (pr < 0) {
      if (errno == EINTR) continue;
      perror("poll");
      return 1;
    }
    if (pr == 0) {  // silence with a partial frame: drop it
      have = 0;
      continue;
    }
    ssize_t n = read(fd, buf + have, sizeof buf - have);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      usleep(1000);
      continue;
    }
    if (have == 0) {
      first_at = now_ns();
      if (reply_end && first_at - reply_end < 1000000000LL) {
        unsigned long long us = (unsigned long long)((first_at - reply_end) / 1000);
        turn_sum_us += us;
        if (us > turn_max_us) turn_max_us = us;
        ++turn_count;
      }
    }
    have += (size_t)n;
    if (have < 8) continue;
    // Only fc 03/04 reads of one unit are answered (that is all the benchmark sends).
    uint16_t crc = crc16(buf, 6);
    int ok = buf[0] == unit && (buf[1] == 3 || buf[1] == 4) && buf[6] == (crc & 0xFF) && buf[7] == (crc >> 8);
    ++n_requests;
    size_t framelen = 8;
    if (!ok) {
      have = 0;
      continue;
    }
    uint16_t addr = (uint16_t)(buf[2] << 8 | buf[3]);
    uint16_t count = (uint16_t)(buf[4] << 8 | buf[5]);
    if (count < 1 || count > 125) {
      have = 0;
      continue;
    }
    uint8_t out[5 + 250];
    size_t len = 0;
    out[len++] = (uint8_t)unit;
    out[len++] = buf[1];
    out[len++] = (uint8_t)(count * 2);
    for (uint16_t i = 0; i < count; ++i) {
      uint16_t a = (uint16_t)(addr + i);
      uint16_t v = a == 1 ? 305 : a == 2 ? 546 : 0;
      out[len++] = (uint8_t)(v >> 8);
      out[len++] = (uint8_t)(v & 0xFF);
    }
    uint16_t oc = crc16(out, len);
    out[len++] = (uint8_t)(oc & 0xFF);
    out[len++] = (uint8_t)(oc >> 8);
    // The request's last character is complete 8 characters after its first one started;
    // the slave then needs 3.5 characters of silence to know the frame has ended.
    int64_t req_end = first_at + (int64_t)framelen * c;
    int64_t start = req_end + t35;
    for (size_t i = 0; i < len && !stop_flag; ++i) {
      sleep_until_ns(start + (int64_t)(i + 1) * c);
      if (write(fd, out + i, 1) != 1 && errno != EINTR) break;
    }
    reply_end = now_ns();
    int64_t late = reply_end - (start + (int64_t)len * c);
    if (late > 0) {
      late_sum_us += (unsigned long long)(late / 1000);
      if ((unsigned long long)(late / 1000) > late_max_us) late_max_us = (unsigned long long)(late / 1000);
    }
    ++n_replies;
    // Bytes that arrived while answering stay in the pty buffer: a master that sends its
    // next request without waiting gets it read as the next frame (no collision model).
    have = 0;
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *link = NULL, *path = NULL;
  int unit = 1, pace = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--openpty") && i + 1 < argc) link = argv[++i];
    else if (!strcmp(argv[i], "--path") && i + 1 < argc) path = argv[++i];
    else if (!strcmp(argv[i], "--unit") && i + 1 < argc) unit = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--pace") && i + 1 < argc) pace = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: mbslave (--openpty LINK | --path DEV) [--unit N] [--pace BAUD]\n");
      return 2;
    }
  }
  if (!link && !path) {
    fprintf(stderr, "mbslave: --openpty LINK or --path DEV is required\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // precise sleeps for the paced mode

  int rc;
  link_path = link;
  if (link) {
    int slave = -1;
    char name[256];
    int master = make_pty(link, &slave, name, sizeof name);
    if (master < 0) return 1;
    printf("READY %s\n", link);
    fflush(stdout);
    if (pace > 0) {
      rc = serve_paced(master, unit, pace);
    } else {
      modbus_t *ctx = modbus_new_rtu(name, 9600, 'N', 8, 1);
      if (!ctx) {
        fprintf(stderr, "modbus_new_rtu: %s\n", modbus_strerror(errno));
        return 1;
      }
      modbus_set_socket(ctx, master);  // serve the pty master fd; no modbus_connect()
      rc = serve_libmodbus(ctx, unit);
      modbus_free(ctx);
    }
    unlink(link);
    close(slave);
    close(master);
  } else {
    if (pace > 0) {
      int fd = open(path, O_RDWR | O_NOCTTY);
      if (fd < 0) {
        perror(path);
        return 1;
      }
      struct termios t;
      tcgetattr(fd, &t);
      cfmakeraw(&t);
      tcsetattr(fd, TCSANOW, &t);
      printf("READY %s\n", path);
      fflush(stdout);
      rc = serve_paced(fd, unit, pace);
      close(fd);
    } else {
      modbus_t *ctx = modbus_new_rtu(path, 9600, 'N', 8, 1);
      if (!ctx || modbus_connect(ctx) != 0) {
        fprintf(stderr, "libmodbus cannot open %s: %s\n", path, modbus_strerror(errno));
        return 1;
      }
      printf("READY %s\n", path);
      fflush(stdout);
      rc = serve_libmodbus(ctx, unit);
      modbus_close(ctx);
      modbus_free(ctx);
    }
  }
  report();
  return rc;
}
