#include "collections/import_mapping.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "collections/customer_identity.hpp"
#include "collections/money.hpp"
#include "crm_core/phone.hpp"

namespace crm_core::collections::import {

namespace {

const std::vector<Entity>& voice_csv_entities() {
    static const std::vector<Entity> list = {
        {"loans",
         {"customer_name", "phone", "national_id", "loan_id", "amount", "due_date", "branch",
          "cluster", "employee"},
         {"customer_name", "phone", "loan_id", "amount", "due_date"}},
    };
    return list;
}

const std::vector<Entity>& debt_accounts_json_entities() {
    static const std::vector<Entity> list = {
        {"debt_accounts",
         {"_id", "accountNumber", "customer.fullName", "customer.phone", "customer.nationalId",
          "customer.email", "lender.name", "lender.reference", "originalPrincipal",
          "currentPrincipal", "currency", "interestRate", "openedAt", "dueDate", "status",
          "plan.installments", "plan.frequency", "plan.firstDueDate"},
         {"accountNumber", "customer.fullName", "originalPrincipal", "currentPrincipal"}},
    };
    return list;
}

const std::vector<Entity>& recouvrement_entities() {
    static const std::vector<Entity> list = {
        {"clients",
         {"id", "name", "email", "phone", "siren", "address", "city", "postal_code", "created_at"},
         {"id", "name"}},
        {"invoices",
         {"id", "client_id", "invoice_number", "amount", "issue_date", "due_date", "status",
          "description"},
         {"id", "client_id", "invoice_number", "amount", "issue_date", "due_date"}},
        {"payments",
         {"id", "invoice_id", "amount", "payment_date", "method", "reference"},
         {"id", "invoice_id", "amount", "payment_date"}},
        {"relance_templates",
         {"id", "name", "type", "subject", "content"},
         {"id", "name", "type", "content"}},
        {"relance_rules",
         {"id", "name", "days_after_due", "template_id", "min_amount", "is_active"},
         {"id", "days_after_due", "template_id"}},
    };
    return list;
}

const std::vector<Entity>& erp_ledger_entities() {
    static const std::vector<Entity> list = {
        {"accounts",
         {"account_number", "name", "account_type", "parent_account_number", "currency",
          "opening_balance", "is_active"},
         {"account_number", "name", "account_type"}},
        {"journal_lines",
         {"entry_number", "transaction_date", "description", "reference", "transaction_type",
          "account_number", "is_debit", "amount", "line_description"},
         {"entry_number", "transaction_date", "account_number", "is_debit", "amount"}},
    };
    return list;
}

std::string trim(std::string_view text) {
    const char* blanks = " \t\r\n\v\f";
    std::size_t first = text.find_first_not_of(blanks);
    if (first == std::string_view::npos) {
        return {};
    }
    std::size_t last = text.find_last_not_of(blanks);
    return std::string(text.substr(first, last - first + 1));
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool all_digits(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(),
                                        [](unsigned char c) { return std::isdigit(c) != 0; });
}

// Reads one record: collects the mapped fields and every field's problem.
class Reader {
  public:
    Reader(const RawRow& raw, const Settings& settings) : raw_(raw), settings_(settings) {
        auto shape = raw.find(kShapeErrorField);
        if (shape != raw.end()) {
            problems_.push_back(shape->second);
        }
        std::optional<int> digits = currency_fraction_digits(settings.currency);
        digits_ = digits.value_or(2);
    }

    // The first of names present with a non-blank value.
    std::optional<std::string> text(std::initializer_list<std::string_view> names) const {
        for (std::string_view name : names) {
            auto found = raw_.find(name);
            if (found != raw_.end()) {
                std::string value = trim(found->second);
                if (!value.empty()) {
                    return value;
                }
            }
        }
        return std::nullopt;
    }
    std::optional<std::string> text(std::string_view name) const { return text({name}); }

    void problem(std::string_view field, const std::string& why) {
        problems_.push_back(std::string(field) + ": " + why);
    }

    std::optional<std::string> required(std::string_view field, std::optional<std::string> value) {
        if (!value) {
            problem(field, "missing");
        }
        return value;
    }
    std::optional<std::string> required(std::string_view field) {
        return required(field, text(field));
    }

    void put(std::string_view name, std::optional<std::string> value) {
        data_.push_back(Field{std::string(name), std::move(value)});
    }

    // An amount of the business's currency (or digits given); zero refused unless allowed,
    // negative refused unless allowed.
    std::optional<std::string> amount(std::string_view field, std::optional<std::string> value,
                                      bool zero_allowed, bool negative_allowed = false) {
        if (!value) {
            return std::nullopt;
        }
        std::string why;
        std::optional<std::string> parsed = parse_amount(*value, digits_, why);
        if (!parsed) {
            problem(field, "\"" + *value + "\" " + why);
            return std::nullopt;
        }
        bool negative = (*parsed)[0] == '-';
        bool zero = parsed->find_first_not_of("-0.") == std::string::npos;
        if (negative && !negative_allowed && !zero) {
            problem(field, *parsed + " is negative");
            return std::nullopt;
        }
        if (zero && !zero_allowed) {
            problem(field, "must be more than 0");
            return std::nullopt;
        }
        if (zero) {
            parsed = from_minor(0, digits_);
        }
        return parsed;
    }

    std::optional<std::string> date(std::string_view field, std::optional<std::string> value) {
        if (!value) {
            return std::nullopt;
        }
        std::optional<std::string> day = parse_date(*value);
        if (!day) {
            problem(field, "\"" + *value + "\" is not a date (write 2024-03-31 or 31/03/2024)");
        }
        return day;
    }

    std::optional<std::string> integer(std::string_view field, std::optional<std::string> value,
                                       long min, long max) {
        if (!value) {
            return std::nullopt;
        }
        if (!all_digits(*value) || value->size() > 9 || std::stol(*value) < min ||
            std::stol(*value) > max) {
            problem(field, "\"" + *value + "\" is not a whole number from " + std::to_string(min) +
                               " to " + std::to_string(max));
            return std::nullopt;
        }
        return std::to_string(std::stol(*value));
    }

    std::optional<std::string> boolean(std::string_view field, std::optional<std::string> value) {
        if (!value) {
            return std::nullopt;
        }
        std::string word = lower(*value);
        if (word == "true" || word == "t" || word == "1" || word == "yes" || word == "oui") {
            return std::string("true");
        }
        if (word == "false" || word == "f" || word == "0" || word == "no" || word == "non") {
            return std::string("false");
        }
        problem(field, "\"" + *value + "\" is not true or false");
        return std::nullopt;
    }

    std::optional<std::string> phone(std::string_view field, std::optional<std::string> value) {
        if (!value) {
            return std::nullopt;
        }
        PhoneNumber number = normalize_phone(*value, settings_.country);
        if (!number.e164) {
            problem(field, "\"" + *value + "\" is not a phone number: " + number.problem);
        }
        return number.e164;
    }

    std::optional<std::string> email(std::string_view field, std::optional<std::string> value) {
        if (!value) {
            return std::nullopt;
        }
        std::size_t at = value->find('@');
        bool shaped = at != std::string::npos && at > 0 && at + 1 < value->size() &&
                      value->find('@', at + 1) == std::string::npos &&
                      value->find_first_of(" \t") == std::string::npos;
        if (!shaped) {
            problem(field, "\"" + *value + "\" is not an email address");
            return std::nullopt;
        }
        return value;
    }

    // One of the words given (compared in lower case), mapped to its target word.
    std::optional<std::string> choice(
        std::string_view field, std::optional<std::string> value,
        const std::vector<std::pair<std::string_view, std::string_view>>& words) {
        if (!value) {
            return std::nullopt;
        }
        std::string word = lower(*value);
        std::string known;
        for (const auto& [from, to] : words) {
            if (word == from) {
                return std::string(to);
            }
            known += (known.empty() ? "" : ", ") + std::string(from);
        }
        problem(field, "\"" + *value + "\" is not one of " + known);
        return std::nullopt;
    }

    MappedRow finish(std::string key) {
        MappedRow row;
        for (const std::string& problem : problems_) {
            row.error += (row.error.empty() ? "" : "; ") + problem;
        }
        row.key = std::move(key);
        row.data = std::move(data_);
        return row;
    }

    int digits() const { return digits_; }

  private:
    const RawRow& raw_;
    const Settings& settings_;
    int digits_ = 2;
    std::vector<std::string> problems_;
    std::vector<Field> data_;
};

MappedRow voice_csv_loan(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> loan = in.required("loan_id");
    in.put("full_name", in.required("customer_name"));
    std::optional<std::string> phone = in.phone("phone", in.required("phone"));
    std::optional<std::string> national_id = in.text("national_id");
    in.put("phone", phone);
    in.put("national_id", national_id);
    in.put("external_ref", loan);
    in.put("amount", in.amount("amount", in.required("amount"), true));
    in.put("due_on", in.date("due_date", in.required("due_date")));
    in.put("branch", in.text("branch"));
    in.put("cluster", in.text("cluster"));
    in.put("employee", in.text("employee"));
    MappedRow row = in.finish(loan.value_or(""));
    row.phone = phone;
    row.national_id = national_id;
    return row;
}

MappedRow debt_account_document(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> number = in.required("accountNumber");
    in.put("source_id", in.text({"_id.$oid", "_id"}));
    in.put("external_ref", number);
    in.put("full_name", in.required("customer.fullName"));
    std::optional<std::string> phone = in.phone("customer.phone", in.text("customer.phone"));
    std::optional<std::string> national_id = in.text("customer.nationalId");
    in.put("phone", phone);
    in.put("national_id", national_id);
    in.put("email", in.email("customer.email", in.text("customer.email")));
    std::optional<std::string> currency = in.text("currency");
    if (currency && (currency->size() != 3 || !currency_fraction_digits(*currency))) {
        in.problem("currency", "\"" + *currency + "\" is not an ISO 4217 currency code");
        currency.reset();
    }
    in.put("currency", currency);
    in.put(
        "principal",
        in.amount("originalPrincipal",
                  in.required("originalPrincipal",
                              in.text({"originalPrincipal", "originalPrincipal.$numberDecimal"})),
                  false));
    in.put("opening_balance",
           in.amount("currentPrincipal",
                     in.required("currentPrincipal",
                                 in.text({"currentPrincipal", "currentPrincipal.$numberDecimal"})),
                     true));
    std::optional<std::string> rate = in.text({"interestRate", "interestRate.$numberDecimal"});
    if (rate) {
        std::string why;
        std::optional<std::string> parsed = parse_amount(*rate, 6, why);
        if (!parsed || (*parsed)[0] == '-') {
            in.problem("interestRate", "\"" + *rate + "\" is not a rate (0.12 for 12%)");
        }
        rate = parsed;
    }
    in.put("interest_rate", rate);
    in.put("opened_on", in.date("openedAt", in.text({"openedAt.$date", "openedAt"})));
    in.put("due_on", in.date("dueDate", in.text({"dueDate.$date", "dueDate"})));
    in.put("lender", in.text("lender.name"));
    in.put("lender_ref", in.text("lender.reference"));
    in.put("status", in.choice("status", in.text("status"),
                               {{"active", "active"},
                                {"current", "active"},
                                {"delinquent", "active"},
                                {"defaulted", "active"},
                                {"paid", "paid"},
                                {"closed", "closed"},
                                {"written_off", "written_off"}}));
    in.put("plan_installments",
           in.integer("plan.installments", in.text("plan.installments"), 1, 600));
    in.put("plan_every", in.choice("plan.frequency", in.text("plan.frequency"),
                                   {{"weekly", "7 days"},
                                    {"biweekly", "14 days"},
                                    {"monthly", "1 month"},
                                    {"quarterly", "3 months"}}));
    in.put("plan_first_due",
           in.date("plan.firstDueDate", in.text({"plan.firstDueDate.$date", "plan.firstDueDate"})));
    MappedRow row = in.finish(number.value_or(""));
    row.phone = phone;
    row.national_id = national_id;
    return row;
}

MappedRow recouvrement_client(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> id = in.required("id");
    in.put("source_id", id);
    in.put("full_name", in.required("name"));
    std::optional<std::string> phone = in.phone("phone", in.text("phone"));
    std::optional<std::string> siren = in.text("siren");
    in.put("phone", phone);
    in.put("national_id", siren);
    in.put("email", in.email("email", in.text("email")));
    in.put("address", in.text("address"));
    in.put("city", in.text("city"));
    in.put("postal_code", in.text("postal_code"));
    MappedRow row = in.finish(id.value_or(""));
    row.phone = phone;
    row.national_id = siren;
    return row;
}

MappedRow recouvrement_invoice(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> id = in.required("id");
    in.put("source_id", id);
    in.put("client_id", in.required("client_id"));
    in.put("external_ref", in.required("invoice_number"));
    in.put("principal", in.amount("amount", in.required("amount"), false));
    std::optional<std::string> issued = in.date("issue_date", in.required("issue_date"));
    std::optional<std::string> due = in.date("due_date", in.required("due_date"));
    if (issued && due && *due < *issued) {
        in.problem("due_date", *due + " is before issue_date " + *issued);
    }
    in.put("opened_on", issued);
    in.put("due_on", due);
    in.put("status", in.choice("status", in.text("status"),
                               {{"pending", "open"},
                                {"en_attente", "open"},
                                {"partial", "open"},
                                {"partiel", "open"},
                                {"overdue", "open"},
                                {"en_retard", "open"},
                                {"paid", "paid"},
                                {"payee", "paid"},
                                {"cancelled", "cancelled"},
                                {"annulee", "cancelled"}}));
    in.put("description", in.text("description"));
    return in.finish(id.value_or(""));
}

MappedRow recouvrement_payment(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> id = in.required("id");
    in.put("source_id", id);
    in.put("invoice_id", in.required("invoice_id"));
    in.put("amount", in.amount("amount", in.required("amount"), false));
    in.put("paid_on", in.date("payment_date", in.required("payment_date")));
    std::optional<std::string> method = in.text("method");
    in.put("channel", method ? in.choice("method", method,
                                         {{"virement", "bank_transfer"},
                                          {"transfer", "bank_transfer"},
                                          {"cheque", "cheque"},
                                          {"carte", "card"},
                                          {"card", "card"},
                                          {"especes", "cash"},
                                          {"cash", "cash"},
                                          {"prelevement", "direct_debit"}})
                             : std::optional<std::string>("bank_transfer"));
    in.put("reference", in.text("reference"));
    return in.finish(id.value_or(""));
}

// Seed 001's template fields ({{client_name}}, {{montant}} ...) as crm_collections' dunning
// placeholders; other text is kept as it is (the dunning template's own check refuses an
// unknown placeholder when the row is applied).
std::optional<std::string> dunning_text(std::optional<std::string> text) {
    static const std::vector<std::pair<std::string_view, std::string_view>> kPlaceholders = {
        {"{{client_name}}", "{{customer_name}}"},
        {"{{nom_client}}", "{{customer_name}}"},
        {"{{client}}", "{{customer_name}}"},
        {"{{invoice_number}}", "{{external_ref}}"},
        {"{{numero_facture}}", "{{external_ref}}"},
        {"{{amount}}", "{{amount_due}}"},
        {"{{montant}}", "{{amount_due}}"},
        {"{{montant_du}}", "{{amount_due}}"},
        {"{{due_date}}", "{{next_due_date}}"},
        {"{{date_echeance}}", "{{next_due_date}}"},
        {"{{days_late}}", "{{days_past_due}}"},
        {"{{jours_retard}}", "{{days_past_due}}"},
        {"{{devise}}", "{{currency}}"},
    };
    if (!text) {
        return text;
    }
    for (const auto& [legacy, placeholder] : kPlaceholders) {
        for (std::size_t at = text->find(legacy); at != std::string::npos;
             at = text->find(legacy, at + placeholder.size())) {
            text->replace(at, legacy.size(), placeholder);
        }
    }
    return text;
}

MappedRow recouvrement_template(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> id = in.required("id");
    in.put("source_id", id);
    in.put("name", in.required("name"));
    std::optional<std::string> channel = in.choice("type", in.required("type"),
                                                   {{"email", "email"},
                                                    {"sms", "sms"},
                                                    {"letter", "letter"},
                                                    {"courrier", "letter"},
                                                    {"call", "call"},
                                                    {"appel", "call"}});
    std::optional<std::string> subject = in.text("subject");
    if (channel == std::optional<std::string>("email") && !subject) {
        in.problem("subject", "missing (an email template needs a subject)");
    }
    in.put("channel", channel);
    in.put("subject", dunning_text(subject));
    in.put("body", dunning_text(in.required("content")));
    return in.finish(id.value_or(""));
}

MappedRow recouvrement_rule(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> id = in.required("id");
    in.put("source_id", id);
    in.put("name", in.text("name"));
    in.put("min_dpd", in.integer("days_after_due", in.required("days_after_due"), 0, 3650));
    in.put("template_id", in.required("template_id"));
    in.put("min_amount", in.amount("min_amount", in.text("min_amount"), true));
    std::optional<std::string> active = in.boolean("is_active", in.text("is_active"));
    in.put("active", active ? active : std::optional<std::string>("true"));
    return in.finish(id.value_or(""));
}

MappedRow erp_account(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> code = in.required("account_number");
    in.put("code", code);
    in.put("name", in.required("name"));
    in.put("kind", in.choice("account_type", in.required("account_type"),
                             {{"1", "asset"},
                              {"asset", "asset"},
                              {"2", "liability"},
                              {"liability", "liability"},
                              {"3", "equity"},
                              {"equity", "equity"},
                              {"4", "income"},
                              {"revenue", "income"},
                              {"income", "income"},
                              {"5", "expense"},
                              {"expense", "expense"}}));
    in.put("parent_code", in.text("parent_account_number"));
    std::optional<std::string> currency = in.text("currency");
    if (currency && (currency->size() != 3 || !currency_fraction_digits(*currency))) {
        in.problem("currency", "\"" + *currency + "\" is not an ISO 4217 currency code");
        currency.reset();
    }
    in.put("currency", currency ? currency : std::optional<std::string>(settings.currency));
    std::optional<std::string> opening = in.text("opening_balance");
    in.put("opening_balance", opening ? in.amount("opening_balance", opening, true, true)
                                      : from_minor(0, in.digits()));
    std::optional<std::string> active = in.boolean("is_active", in.text("is_active"));
    in.put("active", active ? active : std::optional<std::string>("true"));
    return in.finish(code.value_or(""));
}

MappedRow erp_journal_line(const RawRow& raw, const Settings& settings) {
    Reader in(raw, settings);
    std::optional<std::string> entry = in.required("entry_number");
    in.put("entry_number", entry);
    in.put("effective_date", in.date("transaction_date", in.required("transaction_date")));
    in.put("memo", in.text("description"));
    in.put("reference", in.text("reference"));
    in.put("transaction_type", in.text("transaction_type"));
    in.put("account_code", in.required("account_number"));
    std::optional<std::string> debit = in.boolean("is_debit", in.required("is_debit"));
    in.put("side", debit ? std::optional<std::string>(*debit == "true" ? "debit" : "credit")
                         : std::nullopt);
    in.put("amount", in.amount("amount", in.required("amount"), false));
    in.put("line_memo", in.text("line_description"));
    return in.finish(entry.value_or(""));
}

bool leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

std::optional<std::string> calendar_day(int year, int month, int day) {
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1) {
        return std::nullopt;
    }
    int last = kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0);
    if (day > last) {
        return std::nullopt;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d", year, month, day);
    return std::string(text);
}

}  // namespace

std::optional<Source> parse_source(std::string_view name) {
    for (Source source : {Source::voice_csv, Source::debt_accounts_json, Source::recouvrement,
                          Source::erp_ledger}) {
        if (source_name(source) == name) {
            return source;
        }
    }
    return std::nullopt;
}

std::string_view source_name(Source source) {
    switch (source) {
        case Source::voice_csv:
            return "voice_csv";
        case Source::debt_accounts_json:
            return "debt_accounts_json";
        case Source::recouvrement:
            return "recouvrement";
        case Source::erp_ledger:
            return "erp_ledger";
    }
    return "";
}

std::string source_names() {
    return "voice_csv, debt_accounts_json, recouvrement, erp_ledger";
}

const std::vector<Entity>& entities(Source source) {
    switch (source) {
        case Source::voice_csv:
            return voice_csv_entities();
        case Source::debt_accounts_json:
            return debt_accounts_json_entities();
        case Source::recouvrement:
            return recouvrement_entities();
        case Source::erp_ledger:
            return erp_ledger_entities();
    }
    return voice_csv_entities();
}

const Entity* find_entity(Source source, std::string_view name) {
    for (const Entity& entity : entities(source)) {
        if (entity.name == name) {
            return &entity;
        }
    }
    return nullptr;
}

std::string entity_names(Source source) {
    std::string names;
    for (const Entity& entity : entities(source)) {
        names += (names.empty() ? "" : ", ") + std::string(entity.name);
    }
    return names;
}

std::optional<std::string_view> entity_for_file(Source source, std::string_view path) {
    const std::vector<Entity>& list = entities(source);
    if (list.size() == 1) {
        return list.front().name;
    }
    std::size_t slash = path.find_last_of('/');
    std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
    std::optional<std::string_view> found;
    for (const Entity& entity : list) {
        bool starts = base.size() > entity.name.size() &&
                      base.substr(0, entity.name.size()) == entity.name &&
                      (base[entity.name.size()] == '.' || base[entity.name.size()] == '-' ||
                       base[entity.name.size()] == '_');
        // "relance_rules.csv" must not also be read as an entity named "relance".
        if (starts && (!found || entity.name.size() > found->size())) {
            found = entity.name;
        }
    }
    return found;
}

std::vector<std::string> missing_fields(const Entity& entity,
                                        const std::vector<std::string>& header) {
    std::vector<std::string> missing;
    for (std::string_view field : entity.required) {
        if (std::find(header.begin(), header.end(), field) == header.end()) {
            missing.emplace_back(field);
        }
    }
    return missing;
}

MappedRow map_row(Source source, std::string_view entity, const RawRow& raw,
                  const Settings& settings) {
    switch (source) {
        case Source::voice_csv:
            return voice_csv_loan(raw, settings);
        case Source::debt_accounts_json:
            return debt_account_document(raw, settings);
        case Source::recouvrement:
            if (entity == "clients") {
                return recouvrement_client(raw, settings);
            }
            if (entity == "invoices") {
                return recouvrement_invoice(raw, settings);
            }
            if (entity == "payments") {
                return recouvrement_payment(raw, settings);
            }
            if (entity == "relance_templates") {
                return recouvrement_template(raw, settings);
            }
            return recouvrement_rule(raw, settings);
        case Source::erp_ledger:
            if (entity == "accounts") {
                return erp_account(raw, settings);
            }
            return erp_journal_line(raw, settings);
    }
    return MappedRow{"unknown source", "", std::nullopt, std::nullopt, {}};
}

std::optional<std::string> parse_date(std::string_view input) {
    std::string text = trim(input);
    auto number = [&](std::size_t at, std::size_t length) -> int {
        if (at + length > text.size() || !all_digits(std::string_view(text).substr(at, length))) {
            return -1;
        }
        return std::stoi(text.substr(at, length));
    };
    // 2024-03-31, optionally followed by a time (T08:00:00Z or " 08:00:00").
    if (text.size() >= 10 && text[4] == '-' && text[7] == '-' &&
        (text.size() == 10 || text[10] == 'T' || text[10] == ' ')) {
        return calendar_day(number(0, 4), number(5, 2), number(8, 2));
    }
    // 31/03/2024 (day first, as French and Indian exports write it).
    if (text.size() == 10 && text[2] == '/' && text[5] == '/') {
        return calendar_day(number(6, 4), number(3, 2), number(0, 2));
    }
    return std::nullopt;
}

std::optional<std::string> parse_amount(std::string_view input, int digits, std::string& error) {
    std::string text;
    // Spaces (also UTF-8 no-break and narrow no-break spaces) group thousands: drop them.
    std::string trimmed = trim(input);
    for (std::size_t at = 0; at < trimmed.size(); ++at) {
        unsigned char c = static_cast<unsigned char>(trimmed[at]);
        if (c == ' ' || c == '\'') {
            continue;
        }
        if (c == 0xC2 && at + 1 < trimmed.size() &&
            static_cast<unsigned char>(trimmed[at + 1]) == 0xA0) {
            ++at;
            continue;
        }
        if (c == 0xE2 && at + 2 < trimmed.size() &&
            static_cast<unsigned char>(trimmed[at + 1]) == 0x80 &&
            static_cast<unsigned char>(trimmed[at + 2]) == 0xAF) {
            at += 2;
            continue;
        }
        text.push_back(static_cast<char>(c));
    }
    // The separator written last is the decimal one; the other groups thousands.
    std::size_t comma = text.rfind(',');
    std::size_t dot = text.rfind('.');
    if (comma != std::string::npos && (dot == std::string::npos || comma > dot)) {
        text.erase(std::remove(text.begin(), text.end(), '.'), text.end());
        std::replace(text.begin(), text.end(), ',', '.');
    } else if (comma != std::string::npos) {
        text.erase(std::remove(text.begin(), text.end(), ','), text.end());
    }
    if (std::count(text.begin(), text.end(), '.') > 1) {
        error = "is not a number";
        return std::nullopt;
    }
    AmountProblem problem;
    std::optional<Minor> minor = to_minor(text, digits, problem);
    if (!minor) {
        switch (problem) {
            case AmountProblem::too_precise:
                error = "has more than " + std::to_string(digits) + " decimals";
                break;
            case AmountProblem::out_of_range:
                error = "is too large";
                break;
            default:
                error = "is not a number";
        }
        return std::nullopt;
    }
    error.clear();
    return from_minor(*minor, digits);
}

}  // namespace crm_core::collections::import
