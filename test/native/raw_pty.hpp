// A raw pseudo-terminal pair for the native tests' simulated devices: the test holds the master
// (the device's end) and hands the slave's path to the code under test.
#pragma once

#include <fcntl.h>
#include <pty.h>
#include <termios.h>

#include <string>

struct RawPty {
  int master = -1;  // -1: openpty failed
  int slave = -1;   // kept open by the test so the master never sees a hang-up
  std::string path;
};

inline RawPty openRawPty(bool nonBlockingMaster) {
  RawPty p;
  char name[128];
  struct termios raw;
  ::cfmakeraw(&raw);
  if (::openpty(&p.master, &p.slave, name, &raw, nullptr) != 0) return RawPty{};
  if (nonBlockingMaster) ::fcntl(p.master, F_SETFL, ::fcntl(p.master, F_GETFL) | O_NONBLOCK);
  p.path = name;
  return p;
}
