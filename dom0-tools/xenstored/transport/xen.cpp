// Dom0 device interfaces for the ring transport (dom0-devices §1-§4).
#include "xen.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

namespace xs {

namespace {
// ioctl numbers (dom0-devices §0.4); all use _IOC_NONE with the argument size embedded.
constexpr unsigned long kEvtchnBindVirq = 0x00044500;
constexpr unsigned long kEvtchnBindInterdomain = 0x00084501;
constexpr unsigned long kEvtchnUnbind = 0x00044503;
constexpr unsigned long kEvtchnNotify = 0x00044504;
constexpr unsigned long kGntdevMapGrantRef = 0x00184700;
constexpr unsigned long kGntdevUnmapGrantRef = 0x00104701;
constexpr unsigned long kPrivcmdHypercall = 0x00305000;
constexpr unsigned long kPrivcmdMmapBatchV2 = 0x00205004;

struct BindInterdomain { uint32_t remote_domain, remote_port; };
struct PortArg { uint32_t port; };
struct GntdevMap { uint32_t count, pad; uint64_t index; uint32_t domid, ref; };
struct GntdevUnmap { uint64_t index; uint32_t count, pad; };
struct MmapBatchV2 { uint32_t num; uint16_t dom; uint16_t pad; uint64_t addr; const uint64_t* arr; int* err; };
struct Hypercall { uint64_t op; uint64_t arg[5]; };
static_assert(sizeof(BindInterdomain) == 8);
static_assert(sizeof(GntdevMap) == 24);
static_assert(sizeof(GntdevUnmap) == 16);
static_assert(sizeof(MmapBatchV2) == 32);
static_assert(sizeof(Hypercall) == 48);

constexpr uint32_t kGrantRefXenstore = 1;  // GNTTAB_RESERVED_XENSTORE (pv-abi-devices §5.8)
constexpr uint64_t kHypercallDomctl = 36;
constexpr uint32_t kDomctlGetDomainInfo = 5;
constexpr uint32_t kDomctlInterfaceVersion = 0x15;  // Xen 4.17 (dom0-devices §5.1)
constexpr uint32_t kDomInfoDying = 1u << 0;
constexpr uint32_t kDomInfoShutdown = 1u << 2;
}  // namespace

std::unique_ptr<EvtchnDevice> EvtchnDevice::open(std::string& why) {
    int fd = ::open("/dev/xen/evtchn", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        why = std::string("/dev/xen/evtchn: ") + std::strerror(errno);
        return nullptr;
    }
    return std::unique_ptr<EvtchnDevice>(new EvtchnDevice(fd));
}

EvtchnDevice::~EvtchnDevice() { ::close(m_fd); }

int64_t EvtchnDevice::bind_interdomain(uint32_t domid, uint32_t remote_port) {
    BindInterdomain arg{domid, remote_port};
    return ::ioctl(m_fd, kEvtchnBindInterdomain, &arg);
}

int64_t EvtchnDevice::bind_virq(uint32_t virq) {
    PortArg arg{virq};
    return ::ioctl(m_fd, kEvtchnBindVirq, &arg);
}

void EvtchnDevice::unbind(uint32_t port) {
    PortArg arg{port};
    (void)::ioctl(m_fd, kEvtchnUnbind, &arg);
}

void EvtchnDevice::notify(uint32_t port) {
    PortArg arg{port};
    (void)::ioctl(m_fd, kEvtchnNotify, &arg);
}

int64_t EvtchnDevice::next_pending() {
    uint32_t port;
    ssize_t n = ::read(m_fd, &port, sizeof port);
    return n == sizeof port ? static_cast<int64_t>(port) : -1;
}

void EvtchnDevice::unmask(uint32_t port) {
    (void)!::write(m_fd, &port, sizeof port);
}

struct GuestPageMapper::Mapping {
    RingInterface* page = nullptr;
    bool grant = false;
    uint64_t index = 0;
};

GuestPageMapper::GuestPageMapper() : m_maps(new Mapping[0]) {
    m_gntdev = ::open("/dev/xen/gntdev", O_RDWR | O_CLOEXEC);
    m_privcmd = ::open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
}

GuestPageMapper::~GuestPageMapper() {
    if (m_gntdev >= 0) ::close(m_gntdev);
    if (m_privcmd >= 0) ::close(m_privcmd);
}

RingInterface* GuestPageMapper::map(uint32_t domid, int64_t gfn, std::string& why) {
    Mapping m;
    if (m_gntdev >= 0) {
        GntdevMap req{1, 0, 0, domid, kGrantRefXenstore};
        if (::ioctl(m_gntdev, kGntdevMapGrantRef, &req) == 0) {
            void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m_gntdev,
                             static_cast<off_t>(req.index));
            if (p != MAP_FAILED) {
                m = Mapping{static_cast<RingInterface*>(p), true, req.index};
            } else {
                why = std::string("gntdev mmap: ") + std::strerror(errno);
                GntdevUnmap un{req.index, 1, 0};
                (void)::ioctl(m_gntdev, kGntdevUnmapGrantRef, &un);
            }
        } else {
            why = std::string("gntdev map: ") + std::strerror(errno);
        }
    }
    if (!m.page && m_privcmd >= 0) {
        void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m_privcmd, 0);
        if (p != MAP_FAILED) {
            uint64_t frame = static_cast<uint64_t>(gfn);
            int err = 0;
            MmapBatchV2 req{1, static_cast<uint16_t>(domid), 0, reinterpret_cast<uint64_t>(p), &frame, &err};
            if (::ioctl(m_privcmd, kPrivcmdMmapBatchV2, &req) == 0 && err == 0) {
                m = Mapping{static_cast<RingInterface*>(p), false, 0};
            } else {
                why += std::string("; privcmd foreign map failed (") + std::to_string(err) + ")";
                ::munmap(p, 4096);
            }
        }
    }
    if (!m.page) return nullptr;
    std::unique_ptr<Mapping[]> grown(new Mapping[m_nmaps + 1]);
    for (size_t i = 0; i < m_nmaps; ++i) grown[i] = m_maps[i];
    grown[m_nmaps++] = m;
    m_maps = std::move(grown);
    return m.page;
}

void GuestPageMapper::unmap(RingInterface* page) {
    for (size_t i = 0; i < m_nmaps; ++i) {
        if (m_maps[i].page != page) continue;
        ::munmap(page, 4096);
        if (m_maps[i].grant) {
            GntdevUnmap un{m_maps[i].index, 1, 0};
            (void)::ioctl(m_gntdev, kGntdevUnmapGrantRef, &un);
        }
        m_maps[i] = m_maps[--m_nmaps];
        return;
    }
}

RingInterface* map_dom0_ring(uint32_t& port, std::string& why) {
    int pfd = ::open("/proc/xen/xsd_port", O_RDONLY | O_CLOEXEC);
    if (pfd < 0) {
        why = std::string("/proc/xen/xsd_port: ") + std::strerror(errno);
        return nullptr;
    }
    char buf[32] = {};
    ssize_t n = ::read(pfd, buf, sizeof buf - 1);
    ::close(pfd);
    if (n <= 0) {
        why = "/proc/xen/xsd_port: empty";
        return nullptr;
    }
    port = static_cast<uint32_t>(std::strtoul(buf, nullptr, 10));
    int kfd = ::open("/proc/xen/xsd_kva", O_RDWR | O_CLOEXEC);
    if (kfd < 0) {
        why = std::string("/proc/xen/xsd_kva: ") + std::strerror(errno);
        return nullptr;
    }
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, kfd, 0);
    ::close(kfd);
    if (p == MAP_FAILED) {
        why = std::string("mmap /proc/xen/xsd_kva: ") + std::strerror(errno);
        return nullptr;
    }
    return static_cast<RingInterface*>(p);
}

DomainInfo::DomainInfo() {
    m_privcmd = ::open("/dev/xen/privcmd", O_RDWR | O_CLOEXEC);
    void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        ::mlock(p, 4096);  // the hypervisor copies in and out of it
        m_buf = p;
    }
}

DomainInfo::~DomainInfo() {
    if (m_privcmd >= 0) ::close(m_privcmd);
    if (m_buf) ::munmap(m_buf, 4096);
}

DomainState DomainInfo::query(uint32_t domid) {
    if (m_privcmd < 0 || !m_buf) return DomainState::unknown;
    // struct xen_domctl (144 bytes): cmd @0, interface_version @4, domain @8, union @16;
    // getdomaininfo's flags are at union offset 4 (dom0-devices §5.1, §5.3.2).
    auto* b = static_cast<uint8_t*>(m_buf);
    std::memset(b, 0, 144);
    uint32_t cmd = kDomctlGetDomainInfo, ver = kDomctlInterfaceVersion;
    uint16_t dom = static_cast<uint16_t>(domid);
    std::memcpy(b, &cmd, 4);
    std::memcpy(b + 4, &ver, 4);
    std::memcpy(b + 8, &dom, 2);
    Hypercall hc{kHypercallDomctl, {reinterpret_cast<uint64_t>(b), 0, 0, 0, 0}};
    if (::ioctl(m_privcmd, kPrivcmdHypercall, &hc) < 0)
        return errno == ESRCH ? DomainState::gone : DomainState::unknown;
    uint16_t reported;
    uint32_t flags;
    std::memcpy(&reported, b + 16, 2);
    std::memcpy(&flags, b + 16 + 4, 4);
    // Xen reports the next existing domain when the asked-for one is gone (§5.3.2).
    if (reported != dom || (flags & kDomInfoDying)) return DomainState::gone;
    if (flags & kDomInfoShutdown) return DomainState::shutdown;
    return DomainState::running;
}

}  // namespace xs
