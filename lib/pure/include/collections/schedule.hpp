// Repayment plans: what a debt owes, split into installments of equal totals.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "collections/allocation.hpp"

namespace crm_core::collections {

// The most installments a plan may have (50 years of monthly installments).
constexpr int kMaxInstallments = 600;

// Splits outstanding (per component) into count installments whose totals are equal but for the
// last, which takes the rounding remainder. Each installment is filled with the components in
// allocation order, so what a payment pays first also falls due first, and a customer who pays
// each installment on time pays the debt the way the waterfall would. Every component's sum
// over the installments equals its outstanding amount. On failure says why in problem.
std::optional<std::vector<Components>> split_schedule(const Components& outstanding,
                                                      const AllocationOrder& order, int count,
                                                      std::string& problem);

}  // namespace crm_core::collections
