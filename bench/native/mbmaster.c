// mbmaster: the libmodbus RTU master for bench/modbus-throughput.js and
// bench/wire-efficiency.js: the practical floor of a Modbus master on this machine.
//
//   mbmaster PATH [--polls N | --seconds S] [--warmup W] [--unit 1]
//
// modbus_new_rtu(PATH, 9600, 'N', 8, 1), modbus_set_slave, modbus_connect, then
// modbus_read_input_registers(ctx, 1, 2, regs) in a loop; libmodbus defaults otherwise
// (response timeout 0.5 s, byte timeout 0.5 s, RS-232 mode: no RTS delay, no inter-frame
// delay). Prints one JSON line: polls, errors, seconds, pollsPerSec, cpuUs, cpuUsPerPoll.

#define _GNU_SOURCE
#include <errno.h>
#include <modbus/modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Busy jiffies of the whole machine (all cores), to tell how loaded it was meanwhile.
static long long machine_busy_ticks(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return 0;
  long long v[8] = {0};
  int n =
      fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 7) return 0;
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

static long long vol_switches(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_nvcsw + ru.ru_nivcsw;
}

static long long cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + (long long)ru.ru_stime.tv_sec * 1000000 +
         ru.ru_stime.tv_usec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mbmaster PATH [--polls N | --seconds S] [--warmup W] [--unit U]\n");
    return 2;
  }
  const char *path = argv[1];
  long polls = 5000, warmup = 200;
  double seconds = 0;
  int unit = 1;
  for (int i = 2; i < argc; ++i) {
    if (!strcmp(argv[i], "--polls") && i + 1 < argc) polls = atol(argv[++i]);
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atol(argv[++i]);
    else if (!strcmp(argv[i], "--unit") && i + 1 < argc) unit = atoi(argv[++i]);
    else {
      fprintf(stderr, "mbmaster: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  modbus_t *ctx = modbus_new_rtu(path, 9600, 'N', 8, 1);
  if (!ctx) {
    fprintf(stderr, "modbus_new_rtu: %s\n", modbus_strerror(errno));
    return 1;
  }
  modbus_set_slave(ctx, unit);
  if (modbus_connect(ctx) != 0) {
    fprintf(stderr, "modbus_connect %s: %s\n", path, modbus_strerror(errno));
    return 1;
  }
  uint16_t regs[2];
  long errors = 0;
  for (long i = 0; i < warmup; ++i) {
    if (modbus_read_input_registers(ctx, 1, 2, regs) != 2) ++errors;
  }
  long done = 0, bad = 0;
  const long long m0 = machine_busy_ticks();
  const long long s0 = vol_switches();
  const long long c0 = cpu_us();
  const double t0 = now_s();
  double t = t0;
  for (;;) {
    if (seconds > 0) {
      if (t - t0 >= seconds) break;
    } else if (done >= polls) {
      break;
    }
    if (modbus_read_input_registers(ctx, 1, 2, regs) == 2 && regs[0] == 305 && regs[1] == 546) ++done;
    else ++bad;
    t = now_s();
  }
  const double elapsed = t - t0;
  const long long cpu = cpu_us() - c0;
  const long long switches = vol_switches() - s0;
  const double machine_busy = (double)(machine_busy_ticks() - m0) / 100.0;  // CLK_TCK = 100
  printf(
      "{\"master\":\"libmodbus\",\"version\":\"%s\",\"polls\":%ld,\"errors\":%ld,\"warmupErrors\":%ld,"
      "\"seconds\":%.6f,\"pollsPerSec\":%.3f,\"cpuUs\":%lld,\"cpuUsPerPoll\":%.3f,\"machineBusySeconds\":%.2f,"
      "\"contextSwitchesPerPoll\":%.2f}\n",
      LIBMODBUS_VERSION_STRING, done, bad, errors, elapsed, done / elapsed, cpu, done ? (double)cpu / done : 0.0,
      machine_busy, done ? (double)switches / done : 0.0);
  modbus_close(ctx);
  modbus_free(ctx);
  return 0;
}
