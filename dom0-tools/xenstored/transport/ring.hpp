// The shared-page ring transport (pv-abi-devices §5.7), server side, independent of how the
// page was obtained: the daemon maps a guest's page, host tests use ordinary memory.
#pragma once

#include <functional>

#include "connection.hpp"

namespace xs {

class RingEndpoint {
public:
    explicit RingEndpoint(RingInterface* page) : m_page(page) {}

    // Advertise our features (§5.7: the server only sets bits).
    void advertise(uint32_t features);
    // Copy newly produced request bytes into `in`. False if the guest's indices are
    // inconsistent (the error field is then set to RINGIDX).
    bool pull(InputBuffer& in, bool& consumed);
    // Copy as much pending output as fits into the response ring. False on bad indices.
    bool push(OutQueue& out, bool& produced);
    // §5.7 reconnection: the guest asked for a reset.
    bool reconnect_requested() const;
    // Empty both rings and report CONNECTED again.
    void reset();
    void set_error(uint32_t code);

private:
    RingInterface* m_page;
};

// A guest connection over a ring page. `notify` signals the guest's event channel.
class RingConnection final : public Connection {
public:
    RingConnection(ConnId id, RingInterface* page, std::function<void()> notify);

    bool receive(Engine& engine) override;
    bool send(Engine& engine) override;
    const char* kind() const override { return "ring"; }
    // Called on every event from the guest: always re-scan both rings (§5.7).
    bool service(Engine& engine) { return receive(engine) && send(engine); }

private:
    RingEndpoint m_ring;
    InputBuffer m_in;
    std::function<void()> m_notify;
};

}  // namespace xs
