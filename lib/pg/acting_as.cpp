#include "acting_as.hpp"

extern "C" {
#include "utils/guc.h"
}

namespace crm_core::pg {

ActingAs::ActingAs(Oid role, Mode mode, std::initializer_list<ScopedSetting> settings)
    : mode_(mode) {
    GetUserIdAndSecContext(&saved_user_, &saved_context_);
    int context = saved_context_ | SECURITY_LOCAL_USERID_CHANGE;
    if (mode == Mode::restricted) {
        context |= SECURITY_RESTRICTED_OPERATION;
    }
    if (settings.size() > 0) {
        const ScopedSetting* first = settings.begin();
        const ScopedSetting* last = settings.end();
        setting_level_ = pg_call([&] {
            int level = NewGUCNestLevel();
            for (const ScopedSetting* setting = first; setting != last; ++setting) {
                set_config_option(setting->name, setting->value, PGC_USERSET, PGC_S_SESSION,
                                  GUC_ACTION_SAVE, true, 0, false);
            }
            return level;
        });
    }
    SetUserIdAndSecContext(role, context);
}

ActingAs::~ActingAs() {
    if (setting_level_ != 0) {
        AtEOXact_GUC(mode_ == Mode::definer, setting_level_);
    }
    SetUserIdAndSecContext(saved_user_, saved_context_);
}

}  // namespace crm_core::pg
