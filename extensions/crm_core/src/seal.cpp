// Sealing the ledger: committed posted entries (with their lines) are grouped per business
// into hash-chained blocks; verification recomputes every block from the rows as they are now.
#include <cstdint>
#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm_core/canonical.hpp"
#include "crm_core/seal.hpp"
#include "crm_core/sha256.hpp"
#include "datum.hpp"
#include "function.hpp"
#include "interrupts.hpp"
#include "lock.hpp"
#include "spi.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace {

using crm_core::Digest;
using crm_core::Field;

// The canonical columns of each sealed table: session-independent text (epoch seconds for
// timestamps, ISO dates). Frozen with the block format: changing them breaks sealed blocks; a
// column added later goes last and into kAddedColumns.
#define CRM_CORE_ENTRY_COLUMNS                                                                   \
    "e.id, e.business_id, e.status, to_char(e.effective_date, 'YYYY-MM-DD') AS effective_date, " \
    "e.memo, e.idempotency_key, e.source_ref, e.metadata::text AS metadata, "                    \
    "e.reverses_entry_id, extract(epoch FROM e.created_at)::text AS created_at, "                \
    "extract(epoch FROM e.posted_at)::text AS posted_at, e.posted_txid::text AS posted_txid"
#define CRM_CORE_LINE_COLUMNS                                                                \
    "l.id, l.business_id, l.entry_id, l.account_id, l.debit, l.credit, l.currency, l.memo, " \
    "extract(epoch FROM l.created_at)::text AS created_at, l.subledger"
// Columns added after the format froze: sealed only when set (old blocks keep verifying).
const std::vector<std::string_view> kAddedColumns{"subledger"};

// The lock that lets one sealer run at a time, in crm_core's own lock class: no role can squat
// it with pg_advisory_lock.
constexpr std::int64_t kSealLockKey = static_cast<std::int64_t>(0x7365616cULL << 32);  // "seal"

constexpr const char* kEntryKind = "journal_entry";
constexpr const char* kLineKind = "journal_line";
constexpr const char* kBusinessKind = "business";

// A row of a block: which table, which id, its entry, and its hash as it is now.
struct SealedRow {
    std::string kind;
    std::int64_t id;
    std::int64_t entry_id;
    Digest hash;
};

// Column `column` (1-based) of SPI result row `row` as text.
std::optional<std::string> result_text(uint64 row, int column) {
    const char* text = crm_core::pg::pg_call(
        [&] { return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column); });
    if (text == nullptr) {
        return std::nullopt;
    }
    return std::string(text);
}

// Column `column` of SPI result row `row` as int64 (the column is bigint NOT NULL).
std::int64_t result_int(uint64 row, int column) {
    std::optional<Datum> value = crm_core::pg::result_value(row, column);
    return value ? DatumGetInt64(*value) : 0;
}

// Hashes every row of the current SPI result as a canonical row of kind; entry_column is the
// 1-based column holding the row's entry id.
std::vector<SealedRow> hash_result_rows(const char* kind, int entry_column) {
    std::vector<SealedRow> rows;
    TupleDesc descriptor = SPI_tuptable->tupdesc;
    for (uint64 row = 0; row < SPI_processed; ++row) {
        crm_core::pg::check_for_interrupts();
        std::vector<Field> fields;
        for (int column = 1; column <= descriptor->natts; ++column) {
            fields.push_back({NameStr(TupleDescAttr(descriptor, column - 1)->attname),
                              result_text(row, column)});
        }
        rows.push_back({kind, result_int(row, 1), result_int(row, entry_column),
                        crm_core::row_hash(crm_core::encode_row(
                            kind, crm_core::fields_to_seal(std::move(fields), kAddedColumns)))});
    }
    return rows;
}

// A PostgreSQL array literal of the ids, for `$n::text::bigint[]`.
std::string id_array(const std::vector<std::int64_t>& ids) {
    std::string text = "{";
    for (std::int64_t id : ids) {
        if (text.size() > 1) {
            text.push_back(',');
        }
        text += std::to_string(id);
    }
    return text + "}";
}

// Block order: each entry, then its lines by id (rows arrive sorted by entry, then id).
std::vector<SealedRow> block_order(const std::vector<SealedRow>& entries,
                                   const std::vector<SealedRow>& lines) {
    std::vector<SealedRow> ordered;
    auto line = lines.begin();
    for (const SealedRow& entry : entries) {
        ordered.push_back(entry);
        for (; line != lines.end() && line->entry_id == entry.id; ++line) {
            ordered.push_back(*line);
        }
    }
    return ordered;
}

// Hashes of rows, in order.
std::vector<Digest> hashes_of(const std::vector<SealedRow>& rows) {
    std::vector<Digest> hashes;
    for (const SealedRow& row : rows) {
        hashes.push_back(row.hash);
    }
    return hashes;
}

// A bytea column of a result row as bytes (empty for NULL).
std::string result_bytes(uint64 row, int column) {
    std::optional<Datum> value = crm_core::pg::result_value(row, column);
    if (!value) {
        return {};
    }
    const char* data = nullptr;
    std::size_t size = 0;
    crm_core::pg::pg_call([&] {
        bytea* bytes = DatumGetByteaPP(*value);
        data = VARDATA_ANY(bytes);
        size = VARSIZE_ANY_EXHDR(bytes);
    });
    return std::string(data, size);
}

// 32 bytes at offset of bytes as a digest (zeros when too short: it then never matches).
Digest digest_at(const std::string& bytes, std::size_t offset) {
    Digest digest{};
    if (bytes.size() >= offset + digest.size()) {
        memcpy(digest.data(), bytes.data() + offset, digest.size());
    }
    return digest;
}

// A bytea column holding one digest.
Digest result_digest(uint64 row, int column) {
    return digest_at(result_bytes(row, column), 0);
}

// The last block of a business's chain: (0, genesis) when it has none.
crm_core::ChainHead chain_head(std::int64_t business_id) {
    static crm_core::pg::CachedPlan last_block(
        "SELECT block_no, block_hash FROM crm_core.ledger_block WHERE business_id = $1 "
        "ORDER BY block_no DESC LIMIT 1",
        {INT8OID});
    Datum values[] = {Int64GetDatum(business_id)};
    if (last_block.execute(values, nullptr, false) == 0) {
        return {business_id, 0, crm_core::kGenesisHash};
    }
    return {business_id, result_int(0, 1), result_digest(0, 2)};
}

// Ids of the businesses seal_ledger() seals here, in order: every business, unless Citus
// distributes the ledger; then those whose ledger this node holds (transaction ids and
// snapshots are per node, so each node seals its own).
std::vector<std::int64_t> businesses() {
    static crm_core::pg::CachedPlan select_businesses(
        "SELECT id FROM crm_core._ledger_businesses_here() AS id", {});
    uint64 count = select_businesses.execute(nullptr, nullptr, true);
    std::vector<std::int64_t> ids;
    for (uint64 row = 0; row < count; ++row) {
        ids.push_back(result_int(row, 1));
    }
    return ids;
}

// Puts the rows of what the workers of a distributed ledger sealed into the result (nothing
// on a single node or a worker).
void seal_on_workers(FunctionCallInfo fcinfo, int entries_per_block);

// A business verify_ledger() and ledger_digest() cover: its id and whether crm_core.business
// still has its row.
struct KnownBusiness {
    std::int64_t id;
    bool has_row;
};

// Every business with a row or with a chain, in id order (or the one asked for): a chain whose
// business row was deleted or renumbered is covered, never skipped.
std::vector<KnownBusiness> known_businesses(std::optional<std::int64_t> only) {
    static crm_core::pg::CachedPlan select_known(
        "SELECT k.id, EXISTS (SELECT FROM crm_core.business AS b WHERE b.id = k.id) "
        "FROM (SELECT id FROM crm_core.business "
        "UNION SELECT business_id FROM crm_core.ledger_block) AS k (id) "
        "WHERE $1::bigint IS NULL OR k.id = $1 ORDER BY k.id",
        {INT8OID});
    Datum values[] = {Int64GetDatum(only.value_or(0))};
    char nulls[] = {only ? ' ' : 'n', '\0'};
    uint64 count = select_known.execute(values, nulls, true);
    std::vector<KnownBusiness> known;
    for (uint64 row = 0; row < count; ++row) {
        std::optional<Datum> has_row = crm_core::pg::result_value(row, 2);
        known.push_back({result_int(row, 1), has_row && DatumGetBool(*has_row)});
    }
    return known;
}

// What one sealing run finds for a business: entries to seal, in id order, and where the
// next run must start scanning.
struct SealPlan {
    std::vector<std::int64_t> entry_ids;
    std::uint64_t next_scan_from;
};

// Finds the posted, unsealed entries of a business posted by transactions from scan_from on:
// those whose entry and lines were written before the horizon are sealable now; the others
// (still too young) keep the next scan starting at their posting transaction.
SealPlan plan_seal(std::int64_t business_id, std::uint64_t horizon, std::uint64_t scan_from) {
    static constexpr const char* kCandidates =
        "SELECT e.id, e.posted_txid::text::numeric::bigint,"
        "       age(e.xmin) > age($3::text::xid8::xid) AND NOT EXISTS ("
        "           SELECT FROM crm_core.journal_line AS l WHERE l.business_id = e.business_id"
        "              AND l.entry_id = e.id AND age(l.xmin) <= age($3::text::xid8::xid)),"
        "       EXISTS (SELECT FROM crm_core.ledger_sealed_entry AS s WHERE s.business_id = "
        "           e.business_id AND s.entry_id = e.id OFFSET 0)"
        "  FROM crm_core.journal_entry AS e"
        " WHERE e.business_id = $1 AND e.status = 'posted' AND e.posted_txid >= $2::text::xid8"
        " ORDER BY e.id";
    Oid types[] = {INT8OID, TEXTOID, TEXTOID};
    Datum values[] = {Int64GetDatum(business_id),
                      crm_core::pg::string_to_text(std::to_string(scan_from)),
                      crm_core::pg::string_to_text(std::to_string(horizon))};
    uint64 count =
        crm_core::pg::execute_with_arguments(kCandidates, 3, types, values, nullptr, false);
    SealPlan plan{{}, horizon};
    for (uint64 row = 0; row < count; ++row) {
        crm_core::pg::check_for_interrupts();
        std::optional<Datum> sealable = crm_core::pg::result_value(row, 3);
        std::optional<Datum> sealed = crm_core::pg::result_value(row, 4);
        if (sealed && DatumGetBool(*sealed)) {
            continue;
        }
        if (sealable && DatumGetBool(*sealable)) {
            plan.entry_ids.push_back(result_int(row, 1));
        } else {
            auto posted_by = static_cast<std::uint64_t>(result_int(row, 2));
            plan.next_scan_from = std::min(plan.next_scan_from, posted_by);
        }
    }
    return plan;
}

// Where the last run left the scan of a business (0: scan everything).
std::uint64_t scan_start(std::int64_t business_id) {
    static crm_core::pg::CachedPlan select_progress(
        "SELECT scan_from::text::numeric::bigint FROM crm_core.seal_progress "
        "WHERE business_id = $1",
        {INT8OID});
    Datum values[] = {Int64GetDatum(business_id)};
    if (select_progress.execute(values, nullptr, false) == 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(result_int(0, 1));
}

// Records where the next run starts scanning a business (now() in VALUES, not in DO UPDATE:
// Citus refuses functions other than immutable ones there).
void save_scan_start(std::int64_t business_id, std::uint64_t scan_from) {
    static crm_core::pg::CachedPlan upsert_progress(
        "INSERT INTO crm_core.seal_progress (business_id, scan_from, updated_at) "
        "VALUES ($1, $2::text::xid8, now()) ON CONFLICT (business_id) "
        "DO UPDATE SET scan_from = EXCLUDED.scan_from, updated_at = EXCLUDED.updated_at",
        {INT8OID, TEXTOID});
    Datum values[] = {Int64GetDatum(business_id),
                      crm_core::pg::string_to_text(std::to_string(scan_from))};
    upsert_progress.execute(values, nullptr, false);
}

// Seals the entries (ids ascending) with their lines into the block after head; returns the
// rows sealed and moves head on.
uint64 seal_block(crm_core::ChainHead& head, const std::string& horizon,
                  const std::vector<std::int64_t>& entry_ids) {
    std::int64_t business_id = head.business_id;
    static crm_core::pg::CachedPlan select_entries(
        "SELECT " CRM_CORE_ENTRY_COLUMNS
        " FROM crm_core.journal_entry AS e"
        " WHERE e.business_id = $1 AND e.id = ANY ($2::text::bigint[]) ORDER BY e.id",
        {INT8OID, TEXTOID});
    static crm_core::pg::CachedPlan entry_lines(
        "SELECT " CRM_CORE_LINE_COLUMNS
        " FROM crm_core.journal_line AS l WHERE l.business_id = $1"
        "   AND l.entry_id = ANY ($2::text::bigint[]) ORDER BY l.entry_id, l.id",
        {INT8OID, TEXTOID});
    static crm_core::pg::CachedPlan insert_block(
        "WITH block AS (INSERT INTO crm_core.ledger_block (business_id, block_no, "
        "previous_hash, block_hash, entries, lines, first_entry_id, last_entry_id, horizon) "
        "VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'), $5, $6, $7, $8, $9::text::xid8)) "
        "INSERT INTO crm_core.ledger_sealed_entry (business_id, block_no, position, entry_id, "
        "entry_hash, line_ids, line_hashes) SELECT $1, $2, r.position, r.entry_id, "
        "decode(r.entry_hash, 'hex'), r.line_ids::bigint[], decode(r.line_hashes, 'hex') "
        "FROM unnest($10::text::bigint[], $11::text::text[], $12::text::text[], "
        "$13::text::text[]) WITH ORDINALITY AS r(entry_id, entry_hash, line_ids, line_hashes, "
        "position)",
        {INT8OID, INT8OID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT8OID, INT8OID, TEXTOID, TEXTOID,
         TEXTOID, TEXTOID, TEXTOID});

    crm_core::pg::SpiConnection spi;
    Datum selected[] = {Int64GetDatum(business_id),
                        crm_core::pg::string_to_text(id_array(entry_ids))};
    select_entries.execute(selected, nullptr, false);
    std::vector<SealedRow> entries = hash_result_rows(kEntryKind, 1);
    entry_lines.execute(selected, nullptr, false);
    std::vector<SealedRow> rows = block_order(entries, hash_result_rows(kLineKind, 3));
    if (entries.empty()) {
        return 0;
    }

    std::int64_t block_no = head.block_no + 1;
    Digest hash = crm_core::block_hash(head.hash, business_id, block_no, hashes_of(rows));
    // Array literals, one element per entry: its id and hash, its lines' ids and hashes.
    std::string entry_ids_text = "{", entry_hashes = "{", line_ids = "{", line_hashes = "{";
    for (const SealedRow& row : rows) {
        if (row.kind == kEntryKind) {
            bool first = entry_ids_text.size() == 1;
            entry_ids_text += (first ? "" : ",") + std::to_string(row.id);
            entry_hashes += (first ? "\"" : "\",\"") + crm_core::to_hex(row.hash);
            line_ids += first ? "\"{" : "}\",\"{";
            line_hashes += first ? "\"" : "\",\"";
            continue;
        }
        line_ids += (line_ids.back() == '{' ? "" : ",") + std::to_string(row.id);
        line_hashes += crm_core::to_hex(row.hash);
    }
    Datum block_values[] = {Int64GetDatum(business_id),
                            Int64GetDatum(block_no),
                            crm_core::pg::string_to_text(crm_core::to_hex(head.hash)),
                            crm_core::pg::string_to_text(crm_core::to_hex(hash)),
                            Int32GetDatum(static_cast<int32>(entries.size())),
                            Int32GetDatum(static_cast<int32>(rows.size() - entries.size())),
                            Int64GetDatum(entries.front().id),
                            Int64GetDatum(entries.back().id),
                            crm_core::pg::string_to_text(horizon),
                            crm_core::pg::string_to_text(entry_ids_text + "}"),
                            crm_core::pg::string_to_text(entry_hashes + "\"}"),
                            crm_core::pg::string_to_text(line_ids + "}\"}"),
                            crm_core::pg::string_to_text(line_hashes + "\"}")};
    insert_block.execute(block_values, nullptr, false);
    head.block_no = block_no;
    head.hash = hash;
    return rows.size();
}

// Appends one row of plain values to a materialized SRF result.
void put_row(FunctionCallInfo fcinfo, Datum* values, bool* nulls) {
    auto* result = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    crm_core::pg::pg_call(
        [&] { tuplestore_putvalues(result->setResult, result->setDesc, values, nulls); });
}

}  // namespace

// crm_core.seal_ledger(entries_per_block): seals what is committed and not yet sealed.
CRM_CORE_FUNCTION(crm_core_seal_ledger) {
    int entries_per_block = PG_GETARG_INT32(0);
    if (entries_per_block < 1 || entries_per_block > 100000) {
        throw crm_core::pg::Error(ERRCODE_INVALID_PARAMETER_VALUE,
                                  "entries_per_block must be between 1 and 100000, not " +
                                      std::to_string(entries_per_block));
    }
    crm_core::pg::pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
    std::string horizon;
    std::vector<std::int64_t> ids;
    {
        crm_core::pg::SpiConnection spi;
        // One sealer at a time (writers are never blocked); the horizon is the oldest
        // transaction still running: rows written before it are committed for good. Sealing
        // queries run read-write so each takes a fresh snapshot, seeing what a sealer that
        // held the lock before us committed.
        crm_core::pg::wait_for_lock(crm_core::pg::LockClass::internal, kSealLockKey);
        crm_core::pg::execute_once("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", false);
        horizon = *result_text(0, 1);
        ids = businesses();
    }
    std::uint64_t horizon_xid = std::stoull(horizon);
    for (std::int64_t business_id : ids) {
        crm_core::pg::check_for_interrupts();
        int64 blocks = 0, rows = 0;
        crm_core::ChainHead head;
        SealPlan plan;
        {
            crm_core::pg::SpiConnection spi;
            head = chain_head(business_id);
            plan = plan_seal(business_id, horizon_xid, scan_start(business_id));
        }
        auto ids_end = plan.entry_ids.end();
        for (auto chunk = plan.entry_ids.begin(); chunk != ids_end;) {
            crm_core::pg::check_for_interrupts();
            auto chunk_end = chunk + std::min<std::ptrdiff_t>(entries_per_block, ids_end - chunk);
            uint64 sealed = seal_block(head, horizon, std::vector<std::int64_t>(chunk, chunk_end));
            if (sealed > 0) {
                ++blocks;
                rows += static_cast<int64>(sealed);
            }
            chunk = chunk_end;
        }
        {
            crm_core::pg::SpiConnection spi;
            save_scan_start(business_id, plan.next_scan_from);
        }
        if (blocks > 0) {
            Datum values[] = {Int64GetDatum(business_id), Int32GetDatum(static_cast<int32>(blocks)),
                              Int64GetDatum(rows)};
            bool nulls[] = {false, false, false};
            put_row(fcinfo, values, nulls);
        }
    }
    seal_on_workers(fcinfo, entries_per_block);
    return PointerGetDatum(nullptr);
}

namespace {

void seal_on_workers(FunctionCallInfo fcinfo, int entries_per_block) {
    static crm_core::pg::CachedPlan seal_workers(
        "SELECT business_id, blocks_sealed, rows_sealed FROM crm_core._seal_on_workers($1)",
        {INT4OID});
    crm_core::pg::SpiConnection spi;
    Datum arguments[] = {Int32GetDatum(entries_per_block)};
    uint64 count = seal_workers.execute(arguments, nullptr, false);
    for (uint64 row = 0; row < count; ++row) {
        Datum values[] = {Int64GetDatum(result_int(row, 1)), *crm_core::pg::result_value(row, 2),
                          Int64GetDatum(result_int(row, 3))};
        bool nulls[] = {false, false, false};
        put_row(fcinfo, values, nulls);
    }
}

// One block as stored.
struct StoredBlock {
    std::int64_t block_no;
    Digest previous_hash;
    Digest block_hash;
};

// One member row as stored: its position, table, id and sealed hash.
struct StoredRow {
    std::string kind;
    std::int64_t id;
    Digest hash;
};

// The verdict on one business's chain: the first problem found, if any.
struct Verdict {
    std::int64_t blocks_checked = 0;
    std::int64_t rows_checked = 0;
    std::optional<std::int64_t> broken_block;
    std::optional<std::string> broken_row_kind;
    std::optional<std::int64_t> broken_row_id;
    std::optional<std::string> problem;

    // Records the first problem; later ones are not reported.
    void fail(std::optional<std::int64_t> block_no, std::string what,
              const StoredRow* row = nullptr) {
        broken_block = block_no;
        problem = std::move(what);
        if (row != nullptr) {
            broken_row_kind = row->kind;
            broken_row_id = row->id;
        }
    }
};

// Every stored block of a business in block order.
std::vector<StoredBlock> stored_blocks(std::int64_t business_id) {
    static crm_core::pg::CachedPlan select_blocks(
        "SELECT block_no, previous_hash, block_hash FROM crm_core.ledger_block "
        "WHERE business_id = $1 ORDER BY block_no",
        {INT8OID});
    crm_core::pg::SpiConnection spi;
    Datum values[] = {Int64GetDatum(business_id)};
    uint64 count = select_blocks.execute(values, nullptr, true);
    std::vector<StoredBlock> blocks;
    for (uint64 row = 0; row < count; ++row) {
        blocks.push_back({result_int(row, 1), result_digest(row, 2), result_digest(row, 3)});
    }
    return blocks;
}

// Recomputes one block from the rows as they are now; returns false (after recording the
// problem) at the first difference.
bool verify_block(std::int64_t business_id, const StoredBlock& block, Verdict& verdict) {
    static crm_core::pg::CachedPlan select_members(
        "SELECT entry_id, entry_hash, array_to_string(line_ids, ','), line_hashes "
        "FROM crm_core.ledger_sealed_entry WHERE business_id = $1 AND block_no = $2 "
        "ORDER BY position",
        {INT8OID, INT8OID});
    static crm_core::pg::CachedPlan select_entries(
        "SELECT " CRM_CORE_ENTRY_COLUMNS
        " FROM crm_core.journal_entry AS e "
        "WHERE e.business_id = $1 AND e.id = ANY ($2::text::bigint[])",
        {INT8OID, TEXTOID});
    static crm_core::pg::CachedPlan select_lines(
        "SELECT " CRM_CORE_LINE_COLUMNS
        " FROM crm_core.journal_line AS l "
        "WHERE l.business_id = $1 AND l.entry_id = ANY ($2::text::bigint[]) "
        "ORDER BY l.entry_id, l.id",
        {INT8OID, TEXTOID});

    crm_core::pg::SpiConnection spi;
    Datum member_values[] = {Int64GetDatum(business_id), Int64GetDatum(block.block_no)};
    uint64 count = select_members.execute(member_values, nullptr, true);
    std::vector<StoredRow> members;
    std::vector<std::int64_t> entry_ids;
    for (uint64 row = 0; row < count; ++row) {
        crm_core::pg::check_for_interrupts();
        members.push_back({kEntryKind, result_int(row, 1), result_digest(row, 2)});
        entry_ids.push_back(members.back().id);
        std::string line_ids = result_text(row, 3).value_or("");
        std::string line_hashes = result_bytes(row, 4);
        std::size_t offset = 0;
        for (std::size_t start = 0; start < line_ids.size(); offset += Digest().size()) {
            std::size_t end = std::min(line_ids.find(',', start), line_ids.size());
            members.push_back({kLineKind, std::stoll(line_ids.substr(start, end - start)),
                               digest_at(line_hashes, offset)});
            start = end + 1;
        }
    }
    Datum entry_values[] = {Int64GetDatum(business_id),
                            crm_core::pg::string_to_text(id_array(entry_ids))};
    select_entries.execute(entry_values, nullptr, true);
    std::map<std::pair<std::string, std::int64_t>, Digest> current;
    for (const SealedRow& row : hash_result_rows(kEntryKind, 1)) {
        current[{row.kind, row.id}] = row.hash;
    }
    // A sealed line moved to another entry shows as missing; one added shows as extra.
    Datum line_values[] = {Int64GetDatum(business_id), entry_values[1]};
    select_lines.execute(line_values, nullptr, true);
    std::vector<SealedRow> lines = hash_result_rows(kLineKind, 3);
    for (const SealedRow& row : lines) {
        current[{row.kind, row.id}] = row.hash;
    }

    std::vector<Digest> hashes;
    for (const StoredRow& member : members) {
        crm_core::pg::check_for_interrupts();
        ++verdict.rows_checked;
        auto found = current.find({member.kind, member.id});
        if (found == current.end()) {
            verdict.fail(block.block_no, "sealed row is missing (deleted)", &member);
            return false;
        }
        if (found->second != member.hash) {
            verdict.fail(block.block_no, "sealed row was changed", &member);
            return false;
        }
        hashes.push_back(found->second);
        current.erase(found);
    }
    if (!current.empty()) {
        StoredRow extra{current.begin()->first.first, current.begin()->first.second, {}};
        verdict.fail(block.block_no, "row inserted into a sealed entry", &extra);
        return false;
    }
    if (crm_core::block_hash(block.previous_hash, business_id, block.block_no, hashes) !=
        block.block_hash) {
        verdict.fail(block.block_no,
                     "block hash does not match its rows (block replaced or "
                     "rows reordered)");
        return false;
    }
    return true;
}

// Walks a business's whole chain from the first block.
Verdict verify_chain(std::int64_t business_id) {
    Verdict verdict;
    Digest previous = crm_core::kGenesisHash;
    std::int64_t expected_no = 1;
    for (const StoredBlock& block : stored_blocks(business_id)) {
        crm_core::pg::check_for_interrupts();
        if (block.block_no != expected_no) {
            verdict.fail(expected_no, "block " + std::to_string(expected_no) +
                                          " is missing (chain jumps to block " +
                                          std::to_string(block.block_no) + ")");
            return verdict;
        }
        if (block.previous_hash != previous) {
            verdict.fail(block.block_no,
                         "block does not chain to the previous block's hash "
                         "(blocks reordered or replaced)");
            return verdict;
        }
        if (!verify_block(business_id, block, verdict)) {
            return verdict;
        }
        ++verdict.blocks_checked;
        previous = block.block_hash;
        ++expected_no;
    }
    return verdict;
}

// Checks the blocks a digest pinned still carry the pinned hashes.
void check_digest(const std::vector<crm_core::ChainHead>& pinned, std::int64_t business_id,
                  const std::vector<StoredBlock>& blocks, Verdict& verdict) {
    for (const crm_core::ChainHead& head : pinned) {
        if (head.business_id != business_id) {
            continue;
        }
        if (head.block_no == 0) {
            continue;
        }
        bool matched = false;
        for (const StoredBlock& block : blocks) {
            matched = matched || (block.block_no == head.block_no && block.block_hash == head.hash);
        }
        if (!matched) {
            verdict.fail(head.block_no, "block differs from the digest kept outside the database");
        }
    }
}

// Text Datum or NULL for an optional.
void set_optional_text(Datum* values, bool* nulls, int index,
                       const std::optional<std::string>& text) {
    nulls[index] = !text;
    values[index] = text ? crm_core::pg::string_to_text(*text) : 0;
}

// What verify_ledger() says about one business: its chain, its row, and the digest.
Verdict verify_business(const KnownBusiness& business,
                        const std::vector<crm_core::ChainHead>& pinned) {
    Verdict verdict = verify_chain(business.id);
    if (!verdict.problem && !business.has_row) {
        StoredRow row{kBusinessKind, business.id, {}};
        verdict.fail(std::nullopt,
                     "business row is missing (deleted or renumbered) but its sealed chain is here",
                     &row);
    }
    if (!verdict.problem && !pinned.empty()) {
        check_digest(pinned, business.id, stored_blocks(business.id), verdict);
    }
    return verdict;
}

// The verdicts on every known business and on every business the digest names that is gone
// with its whole chain, in id order.
std::vector<std::pair<std::int64_t, Verdict>> verify_all(
    const std::vector<KnownBusiness>& known, const std::vector<crm_core::ChainHead>& pinned,
    std::optional<std::int64_t> only) {
    std::map<std::int64_t, Verdict> verdicts;
    for (const KnownBusiness& business : known) {
        verdicts[business.id] = verify_business(business, pinned);
    }
    for (const crm_core::ChainHead& head : pinned) {
        if ((only && head.business_id != *only) || verdicts.count(head.business_id) > 0) {
            continue;
        }
        StoredRow row{kBusinessKind, head.business_id, {}};
        Verdict& missing = verdicts[head.business_id];
        missing.fail(head.block_no > 0 ? std::optional<std::int64_t>(head.block_no) : std::nullopt,
                     "business in the digest is missing with its whole chain (deleted or "
                     "renumbered)",
                     &row);
    }
    return {verdicts.begin(), verdicts.end()};
}

}  // namespace

// crm_core.verify_ledger(business_id, digest): one row per business; ok or the first problem.
CRM_CORE_FUNCTION(crm_core_verify_ledger) {
    std::optional<std::int64_t> only;
    if (!PG_ARGISNULL(0)) {
        only = PG_GETARG_INT64(0);
    }
    std::vector<crm_core::ChainHead> pinned;
    if (!PG_ARGISNULL(1)) {
        try {
            pinned = crm_core::parse_digest(crm_core::pg::text_argument(fcinfo, 1));
        } catch (const std::invalid_argument& error) {
            throw crm_core::pg::Error(ERRCODE_INVALID_PARAMETER_VALUE, error.what(), "",
                                      "Pass a value returned by crm_core.ledger_digest().");
        }
    }
    crm_core::pg::pg_call([&] { InitMaterializedSRF(fcinfo, 0); });
    std::vector<KnownBusiness> known;
    {
        crm_core::pg::SpiConnection spi;
        known = known_businesses(only);
    }
    for (const auto& [business_id, verdict] : verify_all(known, pinned, only)) {
        Datum values[8];
        bool nulls[8] = {};
        values[0] = Int64GetDatum(business_id);
        values[1] = BoolGetDatum(!verdict.problem);
        values[2] = Int64GetDatum(verdict.blocks_checked);
        values[3] = Int64GetDatum(verdict.rows_checked);
        nulls[4] = !verdict.broken_block;
        values[4] = Int64GetDatum(verdict.broken_block.value_or(0));
        set_optional_text(values, nulls, 5, verdict.broken_row_kind);
        nulls[6] = !verdict.broken_row_id;
        values[6] = Int64GetDatum(verdict.broken_row_id.value_or(0));
        set_optional_text(values, nulls, 7, verdict.problem);
        put_row(fcinfo, values, nulls);
    }
    return PointerGetDatum(nullptr);
}

// crm_core.ledger_digest(business_id): the chain heads as one text to keep elsewhere.
CRM_CORE_FUNCTION(crm_core_ledger_digest) {
    std::optional<std::int64_t> only;
    if (!PG_ARGISNULL(0)) {
        only = PG_GETARG_INT64(0);
    }
    std::vector<crm_core::ChainHead> heads;
    {
        crm_core::pg::SpiConnection spi;
        for (const KnownBusiness& business : known_businesses(only)) {
            heads.push_back(chain_head(business.id));
        }
    }
    return crm_core::pg::string_to_text(crm_core::format_digest(heads));
}
