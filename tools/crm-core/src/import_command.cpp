#include "import_command.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iomanip>
#include <pqxx/pqxx>
#include <sstream>
#include <thread>
#include <tuple>

#include "collections/import_mapping.hpp"
#include "crm_core/sha256.hpp"
#include "csv.hpp"
#include "progress.hpp"
#include "records.hpp"

namespace crm_core::tool {

namespace {

namespace import = crm_core::collections::import;

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int signal) {
    if (interrupted.exchange(true)) {
        // A second Ctrl-C: stop now (the server rolls back the chunk in hand).
        std::signal(signal, SIG_DFL);
        std::raise(signal);
    }
}

struct Interrupted {};

// Cancels the statement in hand when Ctrl-C arrives, so that a long step stops at once instead
// of at the end of its chunk (the server rolls that chunk back; what was committed stays).
// libpq's cancel request is made for use from another thread.
class CancelOnInterrupt {
  public:
    explicit CancelOnInterrupt(pqxx::connection& db) : db_(db), watcher_([this] { watch(); }) {}
    ~CancelOnInterrupt() {
        stop_ = true;
        watcher_.join();
    }
    CancelOnInterrupt(const CancelOnInterrupt&) = delete;
    CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

  private:
    void watch() {
        while (!stop_.load()) {
            if (interrupted.load()) {
                try {
                    db_.cancel_query();
                } catch (const std::exception&) {
                    // The connection is gone: nothing runs on it to cancel.
                }
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    pqxx::connection& db_;
    std::atomic<bool> stop_{false};
    std::thread watcher_;
};

void check_interrupt() {
    if (interrupted.load()) {
        throw Interrupted{};
    }
}

struct Refused {
    std::string message;
};

// The file's SHA-256 in hex, read in 1 MiB blocks.
std::string file_sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    Sha256 hash;
    std::vector<char> block(1 << 20);
    while (in) {
        in.read(block.data(), static_cast<std::streamsize>(block.size()));
        hash.update(block.data(), static_cast<std::size_t>(in.gcount()));
    }
    return to_hex(hash.finish());
}

std::uint64_t file_size(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    return static_cast<std::uint64_t>(in.tellg());
}

bool is_json_lines(import::Source source) {
    return source == import::Source::debt_accounts_json;
}

struct Batch {
    std::int64_t id = 0;
    std::string status;
    std::string refusal;
    std::uint64_t total = 0, pending = 0, valid = 0, invalid = 0, applied = 0, duplicate = 0,
                  skipped = 0;
};

const char* kBatchColumns =
    "id, status, coalesce(refusal, ''), total, pending, valid, invalid, applied, duplicate, "
    "skipped";

Batch read_batch(const pqxx::row& row) {
    Batch batch;
    batch.id = row[0].as<std::int64_t>();
    batch.status = row[1].as<std::string>();
    batch.refusal = row[2].as<std::string>();
    batch.total = row[3].as<std::uint64_t>();
    batch.pending = row[4].as<std::uint64_t>();
    batch.valid = row[5].as<std::uint64_t>();
    batch.invalid = row[6].as<std::uint64_t>();
    batch.applied = row[7].as<std::uint64_t>();
    batch.duplicate = row[8].as<std::uint64_t>();
    batch.skipped = row[9].as<std::uint64_t>();
    return batch;
}

// The first lines of a PostgreSQL error as libpq reports it (message, detail, hint).
std::string error_text(const std::exception& error) {
    std::string text = error.what();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    return text;
}

class FileImport {
  public:
    FileImport(pqxx::connection& connection, const ImportOptions& options, import::Source source,
               std::string entity, std::string path, std::ostream& out, std::ostream& err,
               bool terminal)
        : db_(connection),
          options_(options),
          source_(source),
          entity_(std::move(entity)),
          path_(std::move(path)),
          out_(out),
          err_(err),
          progress_(err, terminal) {}

    Batch run() {
        check_header();
        std::string digest = file_sha256(path_);
        Batch batch = find_or_begin(digest);
        err_ << path_ << ": batch " << batch.id << " (" << import::source_name(source_) << "/"
             << entity_ << "), " << batch.status << "\n";
        if (batch.status == "loading") {
            load(batch);
        }
        batch = validate(batch);
        if (batch.status == "refused") {
            throw Refused{path_ + ": batch " + std::to_string(batch.id) +
                          " is refused: " + batch.refusal};
        }
        if (!options_.dry_run) {
            batch = apply(batch);
        }
        return batch;
    }

  private:
    void check_header() {
        std::ifstream in(path_, std::ios::binary);
        if (!in) {
            throw Refused{path_ + ": cannot be read"};
        }
        if (is_json_lines(source_)) {
            return;
        }
        CsvReader reader(in);
        CsvRecord header;
        if (!reader.next(header)) {
            throw Refused{path_ + ": the file is empty (a CSV file starts with its header)"};
        }
        header_ = header.fields;
        const import::Entity* entity = import::find_entity(source_, entity_);
        std::vector<std::string> missing = import::missing_fields(*entity, header_);
        if (!missing.empty()) {
            std::string list;
            for (const std::string& field : missing) {
                list += (list.empty() ? "" : ", ") + field;
            }
            std::string expected;
            for (std::string_view field : entity->fields) {
                expected += (expected.empty() ? "" : ",") + std::string(field);
            }
            throw Refused{path_ + ": its header lacks " + list + " (" +
                          std::string(import::source_name(source_)) + " " + entity_ +
                          " files start with: " + expected + ")"};
        }
    }

    Batch find_or_begin(const std::string& digest) {
        pqxx::nontransaction tx(db_);
        pqxx::result found =
            tx.exec_params(std::string("SELECT ") + kBatchColumns +
                               " FROM collections.import_batch WHERE business_id = $1 AND "
                               "file_sha256 = $2 AND status <> 'cancelled'",
                           options_.business_id, digest);
        if (!found.empty()) {
            Batch batch = read_batch(found[0]);
            if (batch.status != "applied" && batch.status != "refused") {
                return batch;  // an interrupted import of this file: continue it
            }
            if (options_.dry_run && batch.status == "applied") {
                throw Refused{path_ + ": batch " + std::to_string(batch.id) +
                              " imported this file already"};
            }
        }
        try {
            pqxx::result begun =
                tx.exec_params(std::string("SELECT ") + kBatchColumns +
                                   " FROM collections.begin_import($1, $2, $3, $4, $5, $6, $7)",
                               options_.business_id, std::string(import::source_name(source_)),
                               path_, digest, entity_, options_.currency, options_.country);
            return read_batch(begun[0]);
        } catch (const pqxx::sql_error& error) {
            check_interrupt();  // cancelled by Ctrl-C, not refused
            throw Refused{path_ + ": " + error_text(error)};
        }
    }

    void load(const Batch& batch) {
        std::uint64_t loaded_through = 0;
        {
            pqxx::nontransaction tx(db_);
            loaded_through = tx.exec_params1(
                                   "SELECT coalesce(max(line_no), 0) FROM collections.import_row "
                                   "WHERE business_id = $1 AND batch_id = $2",
                                   options_.business_id, batch.id)[0]
                                 .as<std::uint64_t>();
        }
        if (loaded_through > 0) {
            err_ << "  continuing after line " << loaded_through << "\n";
        }
        std::ifstream in(path_, std::ios::binary);
        double size = static_cast<double>(std::max<std::uint64_t>(file_size(path_), 1));
        progress_.start("loading");
        std::uint64_t rows = 0;
        auto write_chunks = [&](auto&& next_record) {
            std::string raw;
            std::uint64_t line = 0;
            bool more = true;
            while (more) {
                check_interrupt();
                pqxx::work tx(db_);
                pqxx::stream_to copy(
                    tx, "collections.import_row",
                    std::vector<std::string>{"business_id", "batch_id", "line_no", "raw"});
                int in_chunk = 0;
                while (in_chunk < options_.load_chunk && (more = next_record(line, raw))) {
                    if (line <= loaded_through) {
                        continue;
                    }
                    copy << std::make_tuple(options_.business_id, batch.id, line, raw);
                    ++in_chunk;
                    ++rows;
                    if ((rows & 1023) == 0) {
                        progress_.update(rows, static_cast<double>(in.tellg()) / size);
                        check_interrupt();
                    }
                }
                copy.complete();
                tx.commit();
                progress_.update(rows, static_cast<double>(in.tellg()) / size);
            }
        };
        if (is_json_lines(source_)) {
            std::uint64_t line_number = 0;
            std::string text;
            write_chunks([&](std::uint64_t& line, std::string& raw) {
                while (std::getline(in, text)) {
                    ++line_number;
                    if (!text.empty() && text.back() == '\r') {
                        text.pop_back();
                    }
                    if (text.find_first_not_of(" \t") == std::string::npos) {
                        continue;
                    }
                    line = line_number;
                    raw = json_line_record(text);
                    return true;
                }
                return false;
            });
        } else {
            CsvReader reader(in);
            CsvRecord record;
            reader.next(record);  // the header, checked before
            write_chunks([&](std::uint64_t& line, std::string& raw) {
                if (!reader.next(record)) {
                    return false;
                }
                line = record.line;
                raw = csv_record_json(header_, record);
                return true;
            });
        }
        progress_.finish();
    }

    // Calls a step function until the batch leaves the given statuses.
    Batch drive(const char* step, int chunk, const std::string& stage, std::uint64_t total,
                std::initializer_list<const char*> running, std::uint64_t Batch::*remaining) {
        progress_.start(stage, total);
        Batch batch;
        for (;;) {
            check_interrupt();
            pqxx::work tx(db_);
            batch = read_batch(tx.exec_params1(
                std::string("SELECT ") + kBatchColumns + " FROM collections." + step + "($1, $2)",
                batch_id_, chunk));
            tx.commit();
            progress_.update(total - std::min(total, batch.*remaining), 0);
            if (std::find_if(running.begin(), running.end(), [&](const char* status) {
                    return batch.status == status;
                }) == running.end()) {
                break;
            }
        }
        progress_.finish();
        return batch;
    }

    Batch validate(Batch batch) {
        batch_id_ = batch.id;
        if (batch.status != "loading" && batch.status != "validating") {
            return batch;
        }
        std::uint64_t pending = 0;
        {
            pqxx::nontransaction tx(db_);
            pending = tx.exec_params1(
                            "SELECT pending FROM collections.import_batch WHERE business_id = $1 "
                            "AND id = $2",
                            options_.business_id, batch.id)[0]
                          .as<std::uint64_t>();
        }
        return drive("validate_import_step", options_.validate_chunk, "validating", pending,
                     {"loading", "validating"}, &Batch::pending);
    }

    Batch apply(Batch batch) {
        if (batch.status != "validated" && batch.status != "applying") {
            return batch;
        }
        return drive("apply_import_step", options_.apply_chunk, "applying", batch.valid,
                     {"validated", "applying"}, &Batch::valid);
    }

    pqxx::connection& db_;
    const ImportOptions& options_;
    import::Source source_;
    std::string entity_;
    std::string path_;
    std::ostream& out_;
    std::ostream& err_;
    Progress progress_;
    std::vector<std::string> header_;
    std::int64_t batch_id_ = 0;
};

int report_interrupted(std::ostream& err) {
    err << "\ncrm-core import: interrupted; what was committed stays. Run the same command again "
           "to continue where it stopped.\n";
    return kExitInterrupted;
}

void print_summary(pqxx::connection& db, const ImportOptions& options, const std::string& path,
                   const Batch& batch, std::ostream& out) {
    out << "\n" << path << ": batch " << batch.id << ", " << batch.status << "\n";
    std::vector<std::pair<const char*, std::uint64_t>> lines = {
        {"applied", batch.applied}, {"duplicate", batch.duplicate}, {"skipped", batch.skipped},
        {"invalid", batch.invalid}, {"valid", batch.valid},         {"pending", batch.pending}};
    out << "  status          rows\n";
    for (const auto& [status, rows] : lines) {
        if (rows > 0 || std::string(status) != "pending") {
            out << "  " << std::left << std::setw(10) << status << std::right << std::setw(10)
                << grouped(rows) << "\n";
        }
    }
    out << "  " << std::left << std::setw(10) << "total" << std::right << std::setw(10)
        << grouped(batch.total) << "\n";
    pqxx::nontransaction tx(db);
    pqxx::result examples = tx.exec_params(
        "SELECT line_no, status, error FROM collections.import_row WHERE business_id = $1 AND "
        "batch_id = $2 "
        "AND status IN ('invalid', 'skipped') ORDER BY line_no LIMIT 5",
        options.business_id, batch.id);
    if (!examples.empty()) {
        out << "  first rows not imported (all: SELECT line_no, status, error FROM "
               "collections.import_row WHERE "
               "batch_id = "
            << batch.id << " AND status IN ('invalid', 'skipped');)\n";
        for (const pqxx::row& row : examples) {
            out << "    line " << row[0].as<std::string>() << " " << row[1].as<std::string>()
                << ": " << row[2].as<std::string>("") << "\n";
        }
    }
    if (options.dry_run && batch.status == "validated") {
        out << "  dry run: validated, nothing applied; run the same command without --dry-run to "
               "apply it\n";
    }
}

}  // namespace

int run_import(const ImportOptions& options, std::ostream& out, std::ostream& err, bool terminal) {
    std::optional<import::Source> source = import::parse_source(options.source);
    if (!source) {
        err << "crm-core import: unknown source \"" << options.source
            << "\" (sources: " << import::source_names() << ")\n";
        return kExitUsage;
    }
    // Each file's entity, then the files in the order the source's entities are imported.
    std::vector<std::pair<std::size_t, std::pair<std::string, std::string>>> files;
    const std::vector<import::Entity>& entities = import::entities(*source);
    for (const std::string& path : options.files) {
        std::optional<std::string> entity = options.entity;
        if (!entity) {
            std::optional<std::string_view> found = import::entity_for_file(*source, path);
            if (!found) {
                err << "crm-core import: " << path << ": which " << options.source
                    << " entity does it hold? Name the file after it ("
                    << import::entity_names(*source) << ", e.g. invoices.csv) or give --entity\n";
                return kExitUsage;
            }
            entity = std::string(*found);
        }
        if (import::find_entity(*source, *entity) == nullptr) {
            err << "crm-core import: source " << options.source << " has no entity \"" << *entity
                << "\" (entities: " << import::entity_names(*source) << ")\n";
            return kExitUsage;
        }
        std::size_t order =
            static_cast<std::size_t>(std::find_if(entities.begin(), entities.end(),
                                                  [&](const import::Entity& candidate) {
                                                      return candidate.name == *entity;
                                                  }) -
                                     entities.begin());
        files.push_back({order, {*entity, path}});
    }
    std::stable_sort(files.begin(), files.end(),
                     [](const auto& left, const auto& right) { return left.first < right.first; });

    interrupted = false;
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    try {
        pqxx::connection db(options.conninfo);
        CancelOnInterrupt cancel_on_interrupt(db);
        for (const auto& [order, file] : files) {
            FileImport job(db, options, *source, file.first, file.second, out, err, terminal);
            Batch batch = job.run();
            print_summary(db, options, file.second, batch, out);
        }
    } catch (const Interrupted&) {
        return report_interrupted(err);
    } catch (const Refused& refused) {
        err << "crm-core import: refused: " << refused.message << "\n";
        return kExitRefused;
    } catch (const pqxx::broken_connection& error) {
        err << "crm-core import: the connection to the database was lost: " << error_text(error)
            << "\nRun the same command again to continue where it stopped.\n";
        return kExitError;
    } catch (const std::exception& error) {
        if (interrupted.load()) {  // the statement in hand was cancelled by Ctrl-C
            return report_interrupted(err);
        }
        err << "crm-core import: " << error_text(error) << "\n";
        return kExitError;
    }
    return kExitOk;
}

}  // namespace crm_core::tool
