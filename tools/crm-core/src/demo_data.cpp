#include "demo_data.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>

#include "crm_core/canonical.hpp"

namespace crm_core::tool {

namespace {

// splitmix64: the same sequence on every platform and standard library (std's distributions
// are not), so a seed always gives the same files and the same expected counts.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    // One draw in [0, 1000): callers compare it with per-mille thresholds.
    int per_mille() { return static_cast<int>(below(1000)); }
    template <typename T>
    const T& pick(const std::vector<T>& list) {
        return list[below(list.size())];
    }

  private:
    std::uint64_t state_;
};

struct Country {
    std::string code;
    std::string currency;
    std::vector<std::string> first_names;
    std::vector<std::string> last_names;
    std::vector<std::string> branches;
    std::vector<std::string> employees;
    std::vector<std::string> cities;
    std::vector<std::string> trades;
    // A mobile number of person n written in style 0..3 (all the same number).
    std::function<std::string(std::uint64_t, int)> mobile;
    // A number too short to be one.
    std::function<std::string(std::uint64_t)> bad_phone;
    // A landline of company n.
    std::function<std::string(std::uint64_t)> landline;
    // A national id of person n written in style 0..1 (the same id).
    std::function<std::string(std::uint64_t, int)> national_id;
    // A company registration number of company n.
    std::function<std::string(std::uint64_t)> company_id;
    // An amount written as the country's files do (style 0..1).
    std::function<std::string(std::int64_t, int)> amount;
    std::int64_t loan_min;  // in minor units
    std::int64_t loan_max;
};

std::string digits(std::uint64_t value, int width) {
    std::string text = std::to_string(value);
    return std::string(static_cast<std::size_t>(std::max(0, width - static_cast<int>(text.size()))),
                       '0') +
           text;
}

std::string plain_amount(std::int64_t minor) {
    return std::to_string(minor / 100) + "." + digits(static_cast<std::uint64_t>(minor % 100), 2);
}

// 1234567 -> "12 345,67" (French) with the given group separator and decimal mark.
std::string grouped_amount(std::int64_t minor, const std::string& group, char decimal,
                           bool indian) {
    std::string units = std::to_string(minor / 100);
    std::string out;
    int count = 0;
    int group_size = 3;
    for (int at = static_cast<int>(units.size()) - 1; at >= 0; --at) {
        if (count == group_size) {
            out.insert(0, group);
            count = 0;
            if (indian) {
                group_size = 2;
            }
        }
        out.insert(out.begin(), units[static_cast<std::size_t>(at)]);
        ++count;
    }
    return out + decimal + digits(static_cast<std::uint64_t>(minor % 100), 2);
}

const Country& country_profile(const std::string& code) {
    static const Country france{
        "FR",
        "EUR",
        {"Camille", "Léa",   "Manon",   "Chloé", "Inès",  "Sarah",  "Jade",    "Louise",
         "Emma",    "Alice", "Lucas",   "Hugo",  "Louis", "Nathan", "Gabriel", "Arthur",
         "Jules",   "Adam",  "Raphaël", "Paul",  "Zoé",   "Théo",   "Maël",    "Éloïse"},
        {"Martin", "Bernard", "Dubois",   "Thomas", "Robert",  "Richard",  "Petit",
         "Durand", "Leroy",   "Moreau",   "Simon",  "Laurent", "Lefèbvre", "Michel",
         "Garcia", "David",   "Bertrand", "Roux",   "Vincent", "Fournier", "Morel",
         "Girard", "André",   "Mercier",  "Dupont", "Lambert", "Bonnet",   "François"},
        {"Paris 11", "Lyon Part-Dieu", "Lille Centre", "Marseille Prado", "Nantes Commerce",
         "Toulouse Capitole"},
        {"Amélie Roche", "Bruno Faure", "Claire Blanc", "Didier Guérin", "Élodie Muller",
         "Fabrice Henry"},
        {"Paris", "Lyon", "Lille", "Marseille", "Nantes", "Toulouse", "Bordeaux", "Rennes"},
        {"Plomberie", "Boulangerie", "Transports", "Menuiserie", "Conseil", "Électricité",
         "Traiteur"},
        [](std::uint64_t n, int style) {
            std::string d = digits((n * 7919 + 12345678) % 100000000, 8);
            std::string lead = (n % 2 == 0) ? "6" : "7";
            std::string pairs =
                d.substr(0, 2) + " " + d.substr(2, 2) + " " + d.substr(4, 2) + " " + d.substr(6, 2);
            switch (style) {
                case 0:
                    return "0" + lead + " " + pairs;
                case 1:
                    return "+33 " + lead + " " + pairs;
                case 2:
                    return "0" + lead + d;
                default:
                    return "0" + lead + "." + d.substr(0, 2) + "." + d.substr(2, 2) + "." +
                           d.substr(4, 2) + "." + d.substr(6, 2);
            }
        },
        [](std::uint64_t n) { return "06 " + digits(n % 100, 2) + " " + digits(n % 97, 2); },
        [](std::uint64_t n) {
            std::string d = digits((n * 104723 + 2345678) % 100000000, 8);
            return "0" + std::to_string(1 + n % 5) + " " + d.substr(0, 2) + " " + d.substr(2, 2) +
                   " " + d.substr(4, 2) + " " + d.substr(6, 2);
        },
        [](std::uint64_t n, int style) {
            std::string d = digits((n * 104729 + 185057800608ULL) % 1000000000000ULL, 12);
            std::string id = std::to_string(1 + n % 2) + d;
            return style == 0
                       ? id
                       : id.substr(0, 1) + " " + id.substr(1, 2) + " " + id.substr(3, 2) + " " +
                             id.substr(5, 2) + " " + id.substr(7, 3) + " " + id.substr(10, 3);
        },
        [](std::uint64_t n) { return digits((n * 7877 + 301234567) % 1000000000, 9); },
        [](std::int64_t minor, int style) {
            return style == 0 ? plain_amount(minor) : grouped_amount(minor, " ", ',', false);
        },
        20000,
        2000000,
    };
    static const Country india{
        "IN",
        "INR",
        {"Aarav",   "Vivaan", "Aditya", "Vihaan", "Arjun",   "Sai",    "Reyansh",
         "Krishna", "Ishaan", "Rohan",  "Ananya", "Diya",    "Aadhya", "Saanvi",
         "Pari",    "Kavya",  "Meera",  "Priya",  "Lakshmi", "Neha"},
        {"Sharma", "Verma",  "Gupta",      "Kumar",    "Singh",    "Reddy", "Iyer",
         "Nair",   "Patel",  "Shah",       "Rao",      "Das",      "Mehta", "Joshi",
         "Menon",  "Pillai", "Chatterjee", "Banerjee", "Kulkarni", "Desai"},
        {"Bengaluru MG Road", "Mysuru", "Hubballi", "Mangaluru", "Chennai T Nagar", "Pune FC Road"},
        {"Ravi Kumar", "Sunita Rao", "Anil Shetty", "Deepa Hegde", "Manoj Gowda", "Kiran Bhat"},
        {"Bengaluru", "Mysuru", "Chennai", "Pune", "Hyderabad", "Mumbai"},
        {"Traders", "Textiles", "Logistics", "Agro", "Electricals", "Foods"},
        [](std::uint64_t n, int style) {
            std::string d = "9" + digits((n * 7919 + 123456789) % 1000000000, 9);
            switch (style) {
                case 0:
                    return d.substr(0, 5) + " " + d.substr(5);
                case 1:
                    return "+91 " + d.substr(0, 5) + " " + d.substr(5);
                case 2:
                    return d;
                default:
                    return "0" + d;
            }
        },
        [](std::uint64_t n) { return "98" + digits(n % 1000, 3); },
        [](std::uint64_t n) { return "080 " + digits((n * 104723 + 2345678) % 100000000, 8); },
        [](std::uint64_t n, int style) {
            std::string d = std::to_string(2 + n % 8) +
                            digits((n * 104729 + 34567890123ULL) % 100000000000ULL, 11);
            return style == 0 ? d : d.substr(0, 4) + " " + d.substr(4, 4) + " " + d.substr(8, 4);
        },
        [](std::uint64_t n) {
            return "U" + digits((n * 7877 + 51234) % 100000, 5) + "KA2019PTC" +
                   digits(n % 1000000, 6);
        },
        [](std::int64_t minor, int style) {
            return style == 0 ? plain_amount(minor) : grouped_amount(minor, ",", '.', true);
        },
        500000,
        50000000,
    };
    if (code == "FR") {
        return france;
    }
    if (code == "IN") {
        return india;
    }
    throw std::runtime_error("crm-core demo-data knows the countries FR and IN, not \"" + code +
                             "\"");
}

// Drops the accents of the Latin letters the French names use (UTF-8), for "spelled
// differently" duplicates.
std::string without_accents(const std::string& text) {
    static const std::vector<std::pair<std::string, std::string>> kLetters = {
        {"é", "e"}, {"è", "e"}, {"ê", "e"}, {"ë", "e"}, {"É", "E"}, {"à", "a"}, {"â", "a"},
        {"ï", "i"}, {"î", "i"}, {"ô", "o"}, {"ç", "c"}, {"ü", "u"}, {"û", "u"}};
    std::string out = text;
    for (const auto& [accented, plain] : kLetters) {
        for (std::size_t at = out.find(accented); at != std::string::npos;
             at = out.find(accented, at)) {
            out.replace(at, accented.size(), plain);
        }
    }
    return out;
}

std::string upper_ascii(std::string text) {
    for (char& c : text) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        }
    }
    return text;
}

// A day as YYYY-MM-DD or DD/MM/YYYY, `offset` days from today.
std::string day_text(int offset, bool day_first) {
    std::time_t now = std::time(nullptr) + static_cast<std::time_t>(offset) * 86400;
    std::tm day{};
    gmtime_r(&now, &day);
    char text[32];
    if (day_first) {
        std::snprintf(text, sizeof text, "%02d/%02d/%04d", day.tm_mday, day.tm_mon + 1,
                      day.tm_year + 1900);
    } else {
        std::snprintf(text, sizeof text, "%04d-%02d-%02d", day.tm_year + 1900, day.tm_mon + 1,
                      day.tm_mday);
    }
    return text;
}

// A CSV field, quoted when it must be.
std::string csv(const std::string& value) {
    if (value.find_first_of(",\"\r\n") == std::string::npos) {
        return value;
    }
    std::string quoted = "\"";
    for (char c : value) {
        quoted += c;
        if (c == '"') {
            quoted += '"';
        }
    }
    return quoted + "\"";
}

std::string csv_line(const std::vector<std::string>& values) {
    std::string line;
    for (std::size_t i = 0; i < values.size(); ++i) {
        line += (i ? "," : "") + csv(values[i]);
    }
    return line + "\n";
}

class Output {
  public:
    Output(const std::string& dir, const std::string& name) : path_(name) {
        std::filesystem::path full = std::filesystem::path(dir) / name;
        std::filesystem::create_directories(full.parent_path());
        out_.open(full, std::ios::binary | std::ios::trunc);
        if (!out_) {
            throw std::runtime_error("cannot write " + full.string());
        }
    }
    ~Output() = default;
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;
    void write(const std::string& text) {
        out_ << text;
        if (!out_) {
            throw std::runtime_error("cannot write " + path_);
        }
    }
    void count(const std::string& status) { ++expected_.statuses[status]; }
    Expected& expected() { return expected_; }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    std::ofstream out_;
    Expected expected_;
};

struct Person {
    std::uint64_t n;
    std::string name;
    bool has_national_id;
};

Person person(const Country& country, std::uint64_t n) {
    return Person{
        n,
        country.first_names[(n * 7) % country.first_names.size()] + " " +
            country
                .last_names[(n * 11 + n / country.first_names.size()) % country.last_names.size()],
        n % 10 != 2};
}

// The same name as another person would write it: upper case, family name first, no accents.
std::string name_variant(const std::string& name, std::uint64_t n) {
    std::size_t space = name.find(' ');
    switch (n % 3) {
        case 0:
            return upper_ascii(without_accents(name));
        case 1:
            return upper_ascii(name.substr(space + 1)) + " " + name.substr(0, space);
        default:
            return without_accents(name);
    }
}

// ---------------------------------------------------------------------------------------
// voice_csv (seed 003): the loan file of a day and of the next day.

struct VoiceRow {
    std::vector<std::string> fields;  // as written
    bool valid;
    std::uint64_t person;
    std::int64_t amount;  // minor units, when valid
};

void write_voice(const DemoOptions& options, const Country& country, DemoResult& result) {
    const std::vector<std::string> header = {"customer_name", "phone",   "national_id",
                                             "loan_id",       "amount",  "due_date",
                                             "branch",        "cluster", "employee"};
    Rng rng(options.seed);
    std::vector<VoiceRow> rows;
    rows.reserve(options.customers * 13 / 10 + 1);
    Output day1(options.out_dir, "voice_csv/loans.csv");
    day1.write(csv_line(header));
    std::vector<bool> created(options.customers, false);
    std::uint64_t loan_number = 10000001;
    for (std::uint64_t n = 0; n < options.customers; ++n) {
        Person who = person(country, n);
        int loans = 1 + (n % 10 < 3 ? 1 : 0);
        for (int k = 0; k < loans; ++k) {
            int style = static_cast<int>((n + static_cast<std::uint64_t>(k)) % 4);
            std::string name = k == 0 ? who.name : name_variant(who.name, n);
            // A person without a national id gets one on a later loan: the import matches
            // that row by the phone alone.
            bool with_id = who.has_national_id || k > 0;
            std::int64_t amount =
                country.loan_min + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(
                                       country.loan_max - country.loan_min))) /
                                       100 * 100;
            int due = -150 + static_cast<int>(rng.below(180));
            VoiceRow row{
                {name, country.mobile(n, style), with_id ? country.national_id(n, style % 2) : "",
                 "LN" + std::to_string(loan_number++), country.amount(amount, style % 2),
                 day_text(due, style % 2 == 1), rng.pick(country.branches),
                 "Cluster " + std::string(1, static_cast<char>('A' + n % 4)),
                 rng.pick(country.employees)},
                true,
                n,
                amount};
            int mess = rng.per_mille();
            bool repeated = false;
            if (mess < 15) {
                row.fields[1] = country.bad_phone(n);
                row.valid = false;
            } else if (mess < 25) {
                row.fields[4] = "";
                row.valid = false;
            } else if (mess < 28) {
                row.fields[5] = style % 2 == 1 ? "31/04/2025" : "2025-02-30";
                row.valid = false;
            } else if (mess < 38) {
                repeated = true;
            }
            day1.write(csv_line(row.fields));
            day1.count(row.valid ? "applied" : "invalid");
            if (repeated) {
                day1.write(csv_line(row.fields));
                day1.count("duplicate");
            }
            if (row.valid && !created[n]) {
                created[n] = true;
                ++day1.expected().new_customers;
            }
            rows.push_back(std::move(row));
        }
    }
    result.files.emplace_back(day1.path(), day1.expected());

    // The next day: payments lowered some amounts (a few to zero), fees raised others, loans
    // changed hands, new loans arrived; the rest is as it was (duplicates on import).
    Output day2(options.out_dir, "voice_csv/loans-day2.csv");
    day2.write(csv_line(header));
    for (VoiceRow& row : rows) {
        if (row.valid) {
            int change = rng.per_mille();
            int style = static_cast<int>(row.person % 2);
            if (change < 50) {
                row.amount = row.amount / 100 * static_cast<std::int64_t>(50 + rng.below(40));
                row.fields[4] = country.amount(row.amount, style);
            } else if (change < 60) {
                row.fields[4] = country.amount(0, style);
            } else if (change < 65) {
                row.fields[4] = country.amount(row.amount + 2500, style);
            } else if (change < 70) {
                std::string employee = rng.pick(country.employees);
                row.fields[8] = employee == row.fields[8] ? row.fields[8] + " Jr" : employee;
            }
            day2.count(change < 70 ? "applied" : "duplicate");
        } else {
            day2.count("invalid");
        }
        day2.write(csv_line(row.fields));
    }
    for (std::uint64_t n = 0; n < options.customers; n += 100) {
        Person who = person(country, n);
        std::int64_t amount = country.loan_min * 3;
        day2.write(csv_line(
            {who.name, country.mobile(n, 2), who.has_national_id ? country.national_id(n, 0) : "",
             "LN" + std::to_string(loan_number++), country.amount(amount, 0), day_text(25, false),
             country.branches[0], "Cluster A", country.employees[0]}));
        day2.count("applied");
        if (!created[n]) {
            created[n] = true;
            ++day2.expected().new_customers;
        }
    }
    result.files.emplace_back(day2.path(), day2.expected());
}

// ---------------------------------------------------------------------------------------
// debt_accounts_json (seed 000): Mongo DebtAccount documents, one per line.

void write_debt_accounts(const DemoOptions& options, const Country& country, DemoResult& result) {
    Rng rng(options.seed + 1);
    Output out(options.out_dir, "debt_accounts_json/debt_accounts.jsonl");
    std::uint64_t documents = std::max<std::uint64_t>(options.customers / 4, 20);
    std::vector<bool> created(documents, false);
    // Mongo's people live apart from the voice files' (another range of phones and ids).
    const std::uint64_t base = 50000000;
    for (std::uint64_t d = 0; d < documents; ++d) {
        // Every twentieth account is a second one of an earlier person, spelled differently.
        std::uint64_t owner = (d % 20 == 19) ? d - 10 : d;
        Person who = person(country, base + owner);
        std::string name = owner == d ? who.name : name_variant(who.name, owner);
        std::int64_t original =
            country.loan_min + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(
                                   country.loan_max - country.loan_min))) /
                                   100 * 100;
        std::int64_t current = original / 100 * static_cast<std::int64_t>(20 + rng.below(81));
        int status_draw = rng.per_mille();
        std::string status = status_draw < 50    ? "PAID"
                             : status_draw < 70  ? "CLOSED"
                             : status_draw < 100 ? "DEFAULTED"
                                                 : "ACTIVE";
        bool decimal128 = d % 3 == 0;
        auto number = [&](std::int64_t minor) {
            std::string text = plain_amount(minor);
            return decimal128 ? "{\"$numberDecimal\":\"" + text + "\"}" : text;
        };
        std::string phone = country.mobile(base + owner, static_cast<int>(d % 4));
        int mess = rng.per_mille();
        bool valid = true;
        std::string account = "DA-" + digits(d + 1, 7);
        if (mess < 20) {
            account.clear();
            valid = false;
        } else if (mess < 40) {
            phone = country.bad_phone(d);
            valid = false;
        }
        std::string line = "{\"_id\":{\"$oid\":\"" + digits(0x5f3a000000ULL + d, 24) + "\"}";
        if (!account.empty()) {
            line += ",\"accountNumber\":" + json_string(account);
        }
        line +=
            ",\"customer\":{\"fullName\":" + json_string(name) + ",\"phone\":" + json_string(phone);
        if (who.has_national_id) {
            line += ",\"nationalId\":" +
                    json_string(country.national_id(base + owner, static_cast<int>(d % 2)));
        }
        line += ",\"email\":" +
                json_string(upper_ascii(without_accents(who.name)).substr(0, 1) + digits(owner, 6) +
                            "@example.com") +
                "}";
        line += ",\"lender\":{\"name\":\"" +
                std::string(country.code == "FR" ? "Banque Populaire" : "Canara Bank") +
                "\",\"reference\":\"LND-" + digits(d * 31 % 100000, 5) + "\"}";
        line += ",\"originalPrincipal\":" + number(original) +
                ",\"currentPrincipal\":" + number(current);
        line += ",\"currency\":\"" + country.currency + "\",\"interestRate\":0.1" +
                std::to_string(d % 10);
        int opened = -400 + static_cast<int>(rng.below(300));
        line += ",\"openedAt\":{\"$date\":\"" + day_text(opened, false) + "T09:00:00Z\"}";
        line += ",\"status\":\"" + status + "\"";
        if (d % 10 < 7) {
            line += ",\"plan\":{\"status\":\"DRAFT\",\"installments\":" +
                    std::to_string(d % 2 ? 12 : 6) +
                    ",\"frequency\":\"MONTHLY\",\"firstDueDate\":\"" + day_text(30, false) + "\"}";
        }
        line += "}";
        if (mess >= 40 && mess < 50) {
            line = line.substr(0, line.size() / 2);  // a line cut short by a broken export
            valid = false;
        }
        out.write(line + "\n");
        bool nothing_owed = status == "PAID" || status == "CLOSED";
        out.count(!valid ? "invalid" : nothing_owed ? "skipped" : "applied");
        if (valid && !nothing_owed && !created[owner]) {
            created[owner] = true;
            ++out.expected().new_customers;
        }
        if (valid && mess >= 50 && mess < 60) {
            out.write(line + "\n");
            out.count(nothing_owed ? "skipped" : "duplicate");
        }
    }
    result.files.emplace_back(out.path(), out.expected());
}

// ---------------------------------------------------------------------------------------
// recouvrement (seed 001): clients, invoices, payments, relance templates and rules.

void write_recouvrement(const DemoOptions& options, const Country& country, DemoResult& result) {
    Rng rng(options.seed + 2);
    std::uint64_t clients = std::max<std::uint64_t>(options.customers / 10, 10);
    Output client_file(options.out_dir, "recouvrement/clients.csv");
    client_file.write(csv_line(
        {"id", "name", "email", "phone", "siren", "address", "city", "postal_code", "created_at"}));
    std::vector<bool> client_ok(clients + 1, false);
    for (std::uint64_t c = 1; c <= clients; ++c) {
        std::string last = country.last_names[(c * 13) % country.last_names.size()];
        std::string trade = country.trades[c % country.trades.size()];
        std::string name = (country.code == "FR" ? "SARL " : "") + last + " " + trade;
        std::string email = "contact@" + upper_ascii(without_accents(last)).substr(0, 3) +
                            digits(c, 5) + ".example";
        bool valid = true;
        int mess = rng.per_mille();
        if (mess < 30) {
            email = "contact at " + last;
            valid = false;
        }
        std::string line =
            csv_line({std::to_string(c), name, email, country.landline(c), country.company_id(c),
                      std::to_string(1 + c % 120) + " rue de la République",
                      rng.pick(country.cities), digits(10000 + (c * 37) % 85000, 5),
                      day_text(-500 + static_cast<int>(c % 300), false)});
        client_file.write(line);
        client_file.count(valid ? "applied" : "invalid");
        client_ok[c] = valid;
        if (valid) {
            ++client_file.expected().new_customers;
        }
        if (valid && mess >= 30 && mess < 50) {
            client_file.write(line);
            client_file.count("duplicate");
        }
    }
    result.files.emplace_back(client_file.path(), client_file.expected());

    Output invoice_file(options.out_dir, "recouvrement/invoices.csv");
    invoice_file.write(csv_line({"id", "client_id", "invoice_number", "amount", "issue_date",
                                 "due_date", "status", "description"}));
    Output payment_file(options.out_dir, "recouvrement/payments.csv");
    payment_file.write(
        csv_line({"id", "invoice_id", "amount", "payment_date", "method", "reference"}));
    const std::vector<std::string> methods = {"virement", "cheque", "carte", "especes",
                                              "prelevement"};
    std::uint64_t invoice_id = 0;
    std::uint64_t payment_id = 0;
    auto payment = [&](std::uint64_t invoice, std::int64_t amount, int day, bool applies) {
        ++payment_id;
        payment_file.write(
            csv_line({std::to_string(payment_id), std::to_string(invoice), plain_amount(amount),
                      day_text(day, payment_id % 2 == 0), rng.pick(methods),
                      "VIR-" + digits(payment_id * 7 % 1000000, 6)}));
        payment_file.count(applies ? "applied" : "skipped");
    };
    for (std::uint64_t c = 1; c <= clients; ++c) {
        for (int k = 0; k < 3; ++k) {
            ++invoice_id;
            std::int64_t amount = 15000 + static_cast<std::int64_t>(rng.below(400)) * 500;
            int issued = -200 + static_cast<int>(rng.below(170));
            int status_draw = rng.per_mille();
            std::string status = status_draw < 400   ? "pending"
                                 : status_draw < 600 ? "paid"
                                 : status_draw < 750 ? "partial"
                                 : status_draw < 950 ? "overdue"
                                                     : "cancelled";
            bool valid = true;
            int due = issued + 30;
            if (rng.per_mille() < 20) {
                due = issued - 5;  // due before it was issued: a typing error in the old CRM
                valid = false;
            }
            invoice_file.write(
                csv_line({std::to_string(invoice_id), std::to_string(c),
                          "FAC-" + digits(2025, 4) + "-" + digits(invoice_id, 6),
                          plain_amount(amount), day_text(issued, false), day_text(due, false),
                          status, "Prestation " + digits(invoice_id, 4)}));
            bool applied = valid && client_ok[c] && status != "cancelled";
            invoice_file.count(!valid ? "invalid" : applied ? "applied" : "skipped");
            int paid_on = std::min(issued + 10 + static_cast<int>(rng.below(40)), -1);
            if (status == "paid") {
                payment(invoice_id, amount, paid_on, applied);
            } else if (status == "partial") {
                payment(invoice_id, amount / 100 * 40, paid_on, applied);
            }
        }
    }
    // Payments the old CRM kept for invoices it had lost.
    for (std::uint64_t p = 0; p < std::max<std::uint64_t>(clients / 50, 1); ++p) {
        payment(900000 + p, 5000, -3, false);
    }
    result.files.emplace_back(invoice_file.path(), invoice_file.expected());
    result.files.emplace_back(payment_file.path(), payment_file.expected());

    Output templates(options.out_dir, "recouvrement/relance_templates.csv");
    templates.write(csv_line({"id", "name", "type", "subject", "content"}));
    const std::vector<std::vector<std::string>> template_rows = {
        {"1", "Relance amiable J+7", "email", "Facture {{invoice_number}} impayée",
         "Bonjour {{client_name}},\nsauf erreur de notre part, la facture {{invoice_number}} de "
         "{{montant}} reste "
         "impayée. Merci de régulariser."},
        {"2", "SMS J+15", "sms", "",
         "{{client_name}}: {{montant}} restent dus sur {{invoice_number}}."},
        {"3", "Mise en demeure J+30", "letter", "Mise en demeure",
         "{{client_name}}, vous restez redevable de {{montant}} ({{jours_retard}} jours de "
         "retard)."},
        {"4", "Appel J+45", "call", "", "Appeler {{client_name}} au sujet de {{invoice_number}}."},
    };
    for (const auto& row : template_rows) {
        templates.write(csv_line(row));
        templates.count("applied");
    }
    result.files.emplace_back(templates.path(), templates.expected());
    Output rules(options.out_dir, "recouvrement/relance_rules.csv");
    rules.write(
        csv_line({"id", "name", "days_after_due", "template_id", "min_amount", "is_active"}));
    const std::vector<std::vector<std::string>> rule_rows = {
        {"1", "Relance J+7", "7", "1", "0", "1"},
        {"2", "SMS J+15", "15", "2", "50", "1"},
        {"3", "Mise en demeure J+30", "30", "3", "100", "1"},
        {"4", "Appel J+45", "45", "4", "", "0"},
    };
    for (const auto& row : rule_rows) {
        rules.write(csv_line(row));
        rules.count("applied");
    }
    result.files.emplace_back(rules.path(), rules.expected());
}

// ---------------------------------------------------------------------------------------
// erp_ledger (seed 002): the chart of accounts with opening balances, and a journal.

void write_erp(const DemoOptions& options, const Country& country, DemoResult& result) {
    Rng rng(options.seed + 3);
    Output accounts(options.out_dir, "erp_ledger/accounts.csv");
    accounts.write(csv_line({"account_number", "name", "account_type", "parent_account_number",
                             "currency", "opening_balance", "is_active"}));
    // Opening balances: assets 255,000.00 = liabilities and equity 255,000.00.
    const std::vector<std::vector<std::string>> chart = {
        {"1000", "Assets", "Asset", "", "0"},
        {"1100", "Bank", "Asset", "1000", "150000.00"},
        {"1170", "Cash on hand", "Asset", "1000", "25000.00"},
        {"1200", "Accounts receivable", "Asset", "1000", "0"},
        {"1300", "Inventory", "Asset", "1000", "80000.00"},
        {"2100", "Accounts payable", "Liability", "", "45000.00"},
        {"2200", "Taxes payable", "Liability", "", "0"},
        {"3000", "Owner's capital", "Equity", "", "200000.00"},
        {"3100", "Retained earnings", "Equity", "", "10000.00"},
        {"4000", "Sales revenue", "Revenue", "", "0"},
        {"4100", "Service revenue", "Revenue", "", "0"},
        {"5000", "Cost of goods sold", "Expense", "", "0"},
        {"6000", "Rent", "Expense", "", "0"},
        {"6100", "Salaries", "Expense", "", "0"},
        {"6200", "Utilities", "Expense", "", "0"},
    };
    for (const auto& account : chart) {
        accounts.write(csv_line({account[0], account[1], account[2], account[3], country.currency,
                                 account[4], "true"}));
        accounts.count("applied");
    }
    result.files.emplace_back(accounts.path(), accounts.expected());

    const std::string header_line =
        csv_line({"entry_number", "transaction_date", "description", "reference",
                  "transaction_type", "account_number", "is_debit", "amount", "line_description"});
    Output journal(options.out_dir, "erp_ledger/journal_lines.csv");
    journal.write(header_line);
    std::uint64_t entries = std::max<std::uint64_t>(options.customers / 20, 10);
    for (std::uint64_t e = 1; e <= entries; ++e) {
        int day = -60 + static_cast<int>(e * 60 / entries);
        std::string number = "JE-" + day_text(day, false) + "-" + digits(e, 4);
        number.erase(std::remove(number.begin() + 3, number.begin() + 13, '-'),
                     number.begin() + 13);
        std::int64_t amount = 1000 + static_cast<std::int64_t>(rng.below(5000)) * 100;
        std::vector<std::vector<std::string>> lines;
        switch (e % 4) {
            case 0:  // a cash sale with tax
                lines = {{"1170", "true", plain_amount(amount + amount / 10), "cash received"},
                         {"4000", "false", plain_amount(amount), "sale"},
                         {"2200", "false", plain_amount(amount / 10), "tax"}};
                break;
            case 1:  // goods bought on credit
                lines = {{"5000", "true", plain_amount(amount), "goods"},
                         {"2100", "false", plain_amount(amount), "supplier"}};
                break;
            case 2:  // rent paid from the bank
                lines = {{"6000", "true", plain_amount(amount), "rent"},
                         {"1100", "false", plain_amount(amount), "bank"}};
                break;
            default:  // a service invoiced
                lines = {{"1200", "true", plain_amount(amount), "customer"},
                         {"4100", "false", plain_amount(amount), "service"}};
        }
        for (const auto& line : lines) {
            journal.write(csv_line({number, day_text(day, false), "Entry " + std::to_string(e),
                                    "REF-" + digits(e, 5),
                                    e % 4 == 0   ? "sale"
                                    : e % 4 == 1 ? "purchase"
                                    : e % 4 == 2 ? "expense"
                                                 : "service",
                                    line[0], line[1], line[2], line[3]}));
            journal.count("applied");
        }
    }
    result.files.emplace_back(journal.path(), journal.expected());

    // A journal the old system let go out of balance: refused whole on import.
    Output unbalanced(options.out_dir, "erp_ledger/unbalanced/journal_lines.csv");
    unbalanced.write(header_line);
    unbalanced.write(csv_line({"JE-X-0001", day_text(-2, false), "Sale", "REF-X1", "sale", "1170",
                               "true", "100.00", ""}));
    unbalanced.write(csv_line({"JE-X-0001", day_text(-2, false), "Sale", "REF-X1", "sale", "4000",
                               "false", "100.00", ""}));
    unbalanced.write(csv_line({"JE-X-0002", day_text(-1, false), "Sale", "REF-X2", "sale", "1170",
                               "true", "250.00", ""}));
    unbalanced.write(csv_line({"JE-X-0002", day_text(-1, false), "Sale", "REF-X2", "sale", "4000",
                               "false", "249.00", ""}));
    unbalanced.count("valid");
    unbalanced.count("valid");
    unbalanced.count("invalid");
    unbalanced.count("invalid");
    result.files.emplace_back(unbalanced.path(), unbalanced.expected());
}

}  // namespace

std::vector<std::string> demo_countries() {
    return {"FR", "IN"};
}

DemoResult write_demo_data(const DemoOptions& options) {
    const Country& country = country_profile(options.country);
    if (options.customers == 0) {
        throw std::runtime_error("crm-core demo-data needs at least one customer");
    }
    DemoResult result;
    write_voice(options, country, result);
    if (!options.voice_only) {
        write_debt_accounts(options, country, result);
        write_recouvrement(options, country, result);
        write_erp(options, country, result);
    }
    Output expected(options.out_dir, "expected.tsv");
    expected.write("# file\tstatus\trows (what importing each file, in this order, gives)\n");
    for (const auto& [path, counts] : result.files) {
        for (const auto& [status, rows] : counts.statuses) {
            expected.write(path + "\t" + status + "\t" + std::to_string(rows) + "\n");
        }
        expected.write(path + "\tnew_customers\t" + std::to_string(counts.new_customers) + "\n");
    }
    return result;
}

}  // namespace crm_core::tool
