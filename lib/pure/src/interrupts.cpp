#include "crm_core/interrupts.hpp"

namespace crm_core {

namespace {

// One per process (per backend in PostgreSQL); every extension carries its own copy.
InterruptHook installed_hook = nullptr;

}  // namespace

InterruptHook set_interrupt_hook(InterruptHook hook) noexcept {
    InterruptHook previous = installed_hook;
    installed_hook = hook;
    return previous;
}

void check_interrupts() {
    if (installed_hook != nullptr) {
        installed_hook();
    }
}

}  // namespace crm_core
