// Xenstore wire format: message header, message types, limits and the ring page layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace xs {

// pv-abi-devices §5.1: every message is this 16-byte header followed by `len` payload bytes.
struct MsgHeader {
    uint32_t type;
    uint32_t req_id;
    uint32_t tx_id;
    uint32_t len;
};
static_assert(sizeof(MsgHeader) == 16);
static_assert(offsetof(MsgHeader, req_id) == 4);
static_assert(offsetof(MsgHeader, tx_id) == 8);
static_assert(offsetof(MsgHeader, len) == 12);

// pv-abi-devices §5.2 (enum xsd_sockmsg_type).
enum class MsgType : uint32_t {
    control = 0,
    directory = 1,
    read = 2,
    get_perms = 3,
    watch = 4,
    unwatch = 5,
    transaction_start = 6,
    transaction_end = 7,
    introduce = 8,
    release = 9,
    get_domain_path = 10,
    write = 11,
    mkdir = 12,
    rm = 13,
    set_perms = 14,
    watch_event = 15,
    error = 16,
    is_domain_introduced = 17,
    resume = 18,
    set_target = 19,
    restrict_removed = 20,
    reset_watches = 21,
    directory_part = 22,
    get_feature = 23,
    set_feature = 24,
    get_quota = 25,
    set_quota = 26,
    invalid = 0xffff,
};
inline constexpr uint32_t kMsgTypeCount = 27;

std::string_view msg_type_name(uint32_t type);

// pv-abi-devices §5.1 and §5.3.
inline constexpr uint32_t kPayloadMax = 4096;    // XENSTORE_PAYLOAD_MAX
inline constexpr size_t kAbsPathMax = 3072;      // XENSTORE_ABS_PATH_MAX
inline constexpr size_t kRelPathMax = 2048;      // XENSTORE_REL_PATH_MAX

// pv-abi-devices §5.7: struct xenstore_domain_interface, one page shared with the guest.
inline constexpr uint32_t kRingSize = 1024;  // XENSTORE_RING_SIZE
struct RingInterface {
    char req[kRingSize];
    char rsp[kRingSize];
    uint32_t req_cons;
    uint32_t req_prod;
    uint32_t rsp_cons;
    uint32_t rsp_prod;
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
    uint32_t evtchn_port;
};
static_assert(offsetof(RingInterface, rsp) == 1024);
static_assert(offsetof(RingInterface, req_cons) == 2048);
static_assert(offsetof(RingInterface, req_prod) == 2052);
static_assert(offsetof(RingInterface, rsp_cons) == 2056);
static_assert(offsetof(RingInterface, rsp_prod) == 2060);
static_assert(offsetof(RingInterface, server_features) == 2064);
static_assert(offsetof(RingInterface, connection) == 2068);
static_assert(offsetof(RingInterface, error) == 2072);
static_assert(offsetof(RingInterface, evtchn_port) == 2076);
static_assert(sizeof(RingInterface) <= 4096);

// §5.7 server_features bits, connection states and error codes.
inline constexpr uint32_t kFeatureReconnection = 1;
inline constexpr uint32_t kFeatureError = 2;
inline constexpr uint32_t kFeatureWatchDepth = 4;
inline constexpr uint32_t kConnected = 0;
inline constexpr uint32_t kReconnect = 1;
inline constexpr uint32_t kRingErrorNone = 0;
inline constexpr uint32_t kRingErrorComm = 1;
inline constexpr uint32_t kRingErrorRingIdx = 2;
inline constexpr uint32_t kRingErrorProto = 3;

// Domain ids (pv-abi-devices conventions): ids at or above this are not real domains.
inline constexpr uint32_t kDomidFirstReserved = 0x7ff0;

}  // namespace xs
