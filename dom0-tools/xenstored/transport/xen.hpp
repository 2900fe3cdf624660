// Dom0 device interfaces the ring transport needs (dom0-devices §2 evtchn, §3 gntdev,
// §1 privcmd, §4 xenfs): event channels, mapping a guest's store page, dom0's own ring, and
// domain state queries for VIRQ_DOM_EXC.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "../engine/wire.hpp"

namespace xs {

// /dev/xen/evtchn (dom0-devices §2). Methods return -1 with errno set on failure.
class EvtchnDevice {
public:
    static std::unique_ptr<EvtchnDevice> open(std::string& why);
    ~EvtchnDevice();
    int fd() const { return m_fd; }
    int64_t bind_interdomain(uint32_t domid, uint32_t remote_port);
    int64_t bind_virq(uint32_t virq);
    void unbind(uint32_t port);
    void notify(uint32_t port);
    // Next pending port, or -1 when none (non-blocking read of one u32, §2.4).
    int64_t next_pending();
    // Re-enable delivery of `port` (write it back, §2.4).
    void unmask(uint32_t port);

private:
    explicit EvtchnDevice(int fd) : m_fd(fd) {}
    int m_fd;
};

// Maps a guest's xenstore page: by grant (ref 1, the 4.17 daemon's way) through gntdev, else
// by foreign frame through privcmd (dom0-devices §4.5).
class GuestPageMapper {
public:
    GuestPageMapper();
    ~GuestPageMapper();
    RingInterface* map(uint32_t domid, int64_t gfn, std::string& why);
    void unmap(RingInterface* page);
    bool available() const { return m_gntdev >= 0 || m_privcmd >= 0; }

private:
    struct Mapping;
    int m_gntdev = -1;
    int m_privcmd = -1;
    std::unique_ptr<Mapping[]> m_maps;  // small table: page -> how to undo
    size_t m_nmaps = 0;
};

// Dom0's own ring from /proc/xen/xsd_kva and its port from /proc/xen/xsd_port (§4.4).
RingInterface* map_dom0_ring(uint32_t& port, std::string& why);

// Whether a domain still exists and runs (XEN_DOMCTL_getdomaininfo via privcmd, §5.3.2).
enum class DomainState { running, shutdown, gone, unknown };
class DomainInfo {
public:
    DomainInfo();
    ~DomainInfo();
    DomainState query(uint32_t domid);

private:
    int m_privcmd = -1;
    void* m_buf = nullptr;
};

inline constexpr uint32_t kVirqDomExc = 3;  // pv-abi-devices §1.4

}  // namespace xs
