// Device: what every chip model provides, so reset and snapshots need no retrofit.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace kestrel::machine {

// A flat byte stream of device state. Each device writes its fields in a fixed
// order under its own name; load() reads them back in the same order.
class StateWriter {
 public:
  void begin(const std::string& name) {
    put<uint32_t>(static_cast<uint32_t>(name.size()));
    bytes_.insert(bytes_.end(), name.begin(), name.end());
  }
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

class StateReader {
 public:
  explicit StateReader(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  void begin(const std::string& name) {
    uint32_t n = get<uint32_t>();
    std::string got(n, '\0');
    get_bytes(got.data(), n);
    if (got != name) throw std::runtime_error("snapshot: expected section '" + name + "', found '" + got + "'");
  }
  template <class T>
  T get() {
    T v;
    get_bytes(&v, sizeof(T));
    return v;
  }
  template <class T>
  void get(T& v) { v = get<T>(); }
  void get_bytes(void* p, size_t n) {
    if (pos_ + n > bytes_.size()) throw std::runtime_error("snapshot: truncated state");
    std::memcpy(p, bytes_.data() + pos_, n);
    pos_ += n;
  }

 private:
  const std::vector<uint8_t>& bytes_;
  size_t pos_ = 0;
};

class Device {
 public:
  virtual ~Device() = default;
  virtual const char* name() const = 0;
  virtual void reset() = 0;
  virtual void save(StateWriter& w) const = 0;
  virtual void load(StateReader& r) = 0;
};

}  // namespace kestrel::machine
