#include "crm_core/interrupts.hpp"
#include "interrupts.hpp"

namespace crm_core::pg {

namespace {

// Installed when the extension's library is loaded (each extension carries its own copy of
// both libraries, so each installs its own): from then on the pure library's loops stop on a
// cancel the way the server's own loops do.
const bool hook_installed = [] {
    crm_core::set_interrupt_hook(&check_for_interrupts);
    return true;
}();

}  // namespace

}  // namespace crm_core::pg
