// Names of xenstore message types, for traces and logs.
#include "wire.hpp"

namespace xs {

std::string_view msg_type_name(uint32_t type) {
    static constexpr std::string_view names[kMsgTypeCount] = {
        "CONTROL", "DIRECTORY", "READ", "GET_PERMS", "WATCH", "UNWATCH",
        "TRANSACTION_START", "TRANSACTION_END", "INTRODUCE", "RELEASE",
        "GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM", "SET_PERMS", "WATCH_EVENT",
        "ERROR", "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET", "RESTRICT",
        "RESET_WATCHES", "DIRECTORY_PART", "GET_FEATURE", "SET_FEATURE",
        "GET_QUOTA", "SET_QUOTA",
    };
    return type < kMsgTypeCount ? names[type] : std::string_view("UNKNOWN");
}

}  // namespace xs
