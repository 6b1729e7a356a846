// Cancellation points for loops in pure code. Inside a PostgreSQL backend a loop over
// user-sized input must stop when its query is cancelled (statement_timeout, pg_cancel_backend,
// shutdown); pure code cannot include postgres.h, so each such loop calls check_interrupts(),
// which runs the hook its host installed: the extensions' boundary layer installs PostgreSQL's
// CHECK_FOR_INTERRUPTS, reported as a C++ exception (lib/pg/interrupts.cpp); elsewhere (the
// service, unit tests) there is no hook unless a test installs one.
#pragma once

namespace crm_core {

// A hook that returns when the work may go on and throws when it must stop.
using InterruptHook = void (*)();

// Installs hook (nullptr: none) and returns the one it replaces.
InterruptHook set_interrupt_hook(InterruptHook hook) noexcept;

// Runs the installed hook, if any; throws whatever the hook throws.
void check_interrupts();

}  // namespace crm_core
