// What an import brings and how each legacy field maps onto crm_collections: the sources (the
// seeds' exports), the entities (files) each one has, and the validation of one raw record into
// the mapped fields the database applies. Shared by the extension (validate_import) and the
// loader (header checks). docs/migration.md is the readable form of this file.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crm_core/canonical.hpp"

namespace crm_core::collections::import {

enum class Source { voice_csv, debt_accounts_json, recouvrement, erp_ledger };

// "voice_csv" -> Source::voice_csv; std::nullopt for an unknown name.
std::optional<Source> parse_source(std::string_view name);
std::string_view source_name(Source source);
// Every source name, comma-separated (for messages).
std::string source_names();

// One kind of record of a source (one file of its export).
struct Entity {
    std::string_view name;
    // The fields the legacy export writes: a CSV header in order, or the keys of a JSON line
    // (nested objects flattened with dots: "customer.phone").
    std::vector<std::string_view> fields;
    // The fields a file must have (for a CSV: in its header).
    std::vector<std::string_view> required;
};

// A source's entities, in the order their files are imported (clients before invoices).
const std::vector<Entity>& entities(Source source);
const Entity* find_entity(Source source, std::string_view name);
// Every entity name of a source, comma-separated (for messages).
std::string entity_names(Source source);

// The entity a file holds: the source's only entity, or the one whose name starts the file's
// base name ("invoices.csv", "invoices-2024.csv"); std::nullopt when none or several fit.
std::optional<std::string_view> entity_for_file(Source source, std::string_view path);

// The required fields a CSV header lacks (empty: the header fits).
std::vector<std::string> missing_fields(const Entity& entity,
                                        const std::vector<std::string>& header);

// A raw record: field name -> value as text. An absent field, an empty value and JSON null
// are all "missing".
using RawRow = std::map<std::string, std::string, std::less<>>;

// A raw record that could not be split into fields as its header says carries this key with
// the reason (set by the loader); the record is invalid.
inline constexpr std::string_view kShapeErrorField = "_shape_error";

// What a business reads records with.
struct Settings {
    std::string country;   // ISO 3166 alpha-2: national phone numbers
    std::string currency;  // ISO 4217: amounts (decimals) where a record names none
};

// One validated record.
struct MappedRow {
    // Empty when the record is valid; otherwise "field: why" for each bad field, "; "-separated.
    std::string error;
    // The record's identity in its source (loan id, account number, invoice id, entry number).
    std::string key;
    std::optional<std::string> phone;        // E.164
    std::optional<std::string> national_id;  // trimmed, as written
    // The mapped fields as text (see docs/migration.md for each source).
    std::vector<Field> data;
};

// Validates and maps one raw record of entity (of source) for a business.
MappedRow map_row(Source source, std::string_view entity, const RawRow& raw,
                  const Settings& settings);

// A date in one of the forms legacy exports write (2024-03-31, 2024-03-31T08:00:00Z,
// 31/03/2024) as YYYY-MM-DD; std::nullopt when it is none of them or not a calendar day.
std::optional<std::string> parse_date(std::string_view text);

// A decimal amount as exports write it ("1234.5", "1 234,50", "1,234.50", "1.234,50") as
// plain decimal text with `digits` decimals; error says why not (empty on success).
std::optional<std::string> parse_amount(std::string_view text, int digits, std::string& error);

}  // namespace crm_core::collections::import
