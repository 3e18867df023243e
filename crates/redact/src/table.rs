//! Tables whose header names their columns: a CSV or TSV export (`id,first_name,phone`),
//! `psql`'s and `mysql`'s output (` first_name | phone `, `+----+`), a Markdown table, an
//! SQL `INSERT` with its column list, `pg_dump`'s `COPY … FROM stdin`, `mysqldump`'s
//! `INSERT INTO t VALUES (…)` under the `CREATE TABLE t` that names them. A cell of a column
//! named for a person, an account or a telephone number holds one, with no word around it
//! to say so: `1001,Piotr,Nowak,+48 512 345 678,pnowak`.

use std::ops::Range;

use aho_corasick::AhoCorasick;

/// What a column's name says its cells hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    /// A person's name or a part of it.
    Person,
    /// An account's name.
    Account,
    /// A telephone number.
    Phone,
}

/// How long a header's line may be: a wide export's hundred columns.
const HEADER_BYTES: usize = 4096;
/// How long a column's name may be.
const COLUMN_NAME_BYTES: usize = 40;

/// The words of the columns [`column`] knows, one of which a header's line holds, and
/// the statement that starts a dump's table.
const COLUMN_WORDS: &[&str] = &[
    "name",
    "user",
    "login",
    "phone",
    "mobile",
    "tel",
    "cell",
    "fax",
    "msisdn",
    "create table",
];
/// How far a `CREATE TABLE`'s column definitions are read: a wide table's hundreds.
const DEFINITIONS_BYTES: usize = 64 << 10;
/// The words that start a table's constraint or index in its definition, not a column.
const NOT_COLUMNS: &[&str] = &[
    "primary",
    "key",
    "unique",
    "constraint",
    "index",
    "foreign",
    "check",
    "fulltext",
    "spatial",
    "exclude",
    "like",
    "period",
];

/// The bytes a header's line is made of: its columns' names, the delimiters, quotes and
/// spaces. A line with any other (a log's `:` or `=`, code's parentheses) is turned away
/// at that byte, before it is split.
const HEADER_LINE: [bool; 256] = {
    let mut bytes = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        bytes[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'_' | b'-' | b'.' | b' ' | b'#' | b'/' | b'\t' | b'\r' | b',' | b'|' | b';' | b'"'
            );
        b += 1;
    }
    bytes
};

/// The words that, before `name`, make a column or a field a part of a person's name
/// (`first_name`, `customerName`, `Maiden Name`); `surname` is one alone.
pub(crate) const NAME_PARTS: &[&str] = &[
    "first",
    "last",
    "given",
    "family",
    "middle",
    "full",
    "customer",
    "contact",
    "employee",
    "requester",
    "caller",
    "person",
    "maiden",
];

/// The kind of a column named `name` (`first_name`, `Last Name`, `"username"`,
/// `sAMAccountName`, `Phone Number`), in any case, with `_`, `-`, `.` or spaces between
/// its words. Only names that say what their cells are: a bare `name` is a host's, a
/// product's or a resource's as often as a person's (a `displayName` an application's,
/// a group's or a role's as often as a user's), and a `user_id` is a number.
pub(crate) fn column(name: &[u8]) -> Option<Column> {
    if name.len() > COLUMN_NAME_BYTES {
        return None;
    }
    let key: Vec<u8> = name
        .iter()
        .filter(|b| !b"_-. ".contains(b))
        .map(u8::to_ascii_lowercase)
        .collect();
    let part_of_a_name = key == b"surname"
        || key
            .strip_suffix(b"name")
            .is_some_and(|part| NAME_PARTS.iter().any(|p| p.as_bytes() == part));
    if part_of_a_name {
        return Some(Column::Person);
    }
    Some(match key.as_slice() {
        b"username" | b"login" | b"loginname" | b"userlogin" | b"accountname"
        | b"samaccountname" => Column::Account,
        b"phone" | b"phonenumber" | b"telephone" | b"telephonenumber" | b"tel" | b"mobile"
        | b"mobilephone" | b"mobilenumber" | b"cell" | b"cellphone" | b"homephone"
        | b"workphone" | b"fax" | b"msisdn" => Column::Phone,
        _ => return None,
    })
}

/// A table's header, as its rows are read: what splits them, how many fields each has,
/// and which of them are known columns. Carried from one chunk of a stream to the next,
/// so that a big export's rows are read as such past the chunk that holds its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    delimiter: u8,
    width: usize,
    columns: Vec<(usize, Column)>,
    rows: Rows,
}

/// How a table's rows are written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rows {
    /// A line each, its fields split at the delimiter.
    Delimited,
    /// `pg_dump`'s `COPY`: every line a row up to its `\.`.
    Copy,
    /// A dump's `INSERT INTO t VALUES (…), (…);` lines after the `CREATE TABLE t` that
    /// named the columns, among the dump's comments and locks: the table's name without
    /// its quotes, and whether a backslash escapes a quote in its values (MySQL's, whose
    /// names are in back quotes).
    Inserts { table: Box<[u8]>, backslash: bool },
}

impl Header {
    /// A header of `names` (ranges of `text`) split at `delimiter`, if any is a known
    /// column.
    fn of(text: &[u8], names: &[Range<usize>], delimiter: u8, rows: Rows) -> Option<Self> {
        let columns: Vec<(usize, Column)> = names
            .iter()
            .enumerate()
            .filter_map(|(i, name)| column(&text[name.clone()]).map(|c| (i, c)))
            .collect();
        (!columns.is_empty()).then_some(Self {
            delimiter,
            width: names.len(),
            columns,
            rows,
        })
    }

    /// Pushes the cells of the known columns of a row's `values`, if it is as wide.
    fn push(&self, values: &[Range<usize>], cells: &mut Vec<(Range<usize>, Column)>) {
        if values.len() == self.width {
            cells.extend(
                self.columns
                    .iter()
                    .map(|&(i, column)| (values[i].clone(), column))
                    .filter(|(value, _)| !value.is_empty()),
            );
        }
    }

    /// Reads the rows from `start` on, pushing their cells: to a line that is no row
    /// (an empty one, one of another width, a dump's `\.`). Returns where the last row
    /// ends, and whether the rows ran to the end of `text`.
    fn rows(
        &self,
        text: &[u8],
        start: usize,
        cells: &mut Vec<(Range<usize>, Column)>,
    ) -> (usize, bool) {
        let mut end = start.saturating_sub(1);
        let mut next = start;
        while next < text.len() {
            let row = line_around(text, next);
            next = row.end + 1;
            let line = trim_line(text, row.clone());
            if let Rows::Inserts { table, backslash } = &self.rows {
                let bytes = &text[line.clone()];
                let aside = bytes.is_empty()
                    || bytes.starts_with(b"--")
                    || bytes.starts_with(b"/*")
                    || starts_with_word(bytes, b"LOCK TABLES ");
                if !aside {
                    match values_of_insert(text, line.clone(), table) {
                        Some(at) if self.tuples(text, at, line.end, *backslash, cells) => {}
                        _ => return (end, false),
                    }
                }
                end = row.end;
                continue;
            }
            if line.is_empty() {
                return (end, false);
            }
            if self.rows == Rows::Copy {
                end = row.end;
                if &text[line.clone()] == b"\\." {
                    return (end, false);
                }
                self.push(&fields(text, line, b'\t').unwrap_or_default(), cells);
                continue;
            }
            // `psql`'s `----+----`, `mysql`'s `+----+`, Markdown's `|---|:--|`.
            if text[line.clone()].iter().all(|b| b"-+|:= \t".contains(b)) {
                end = row.end;
                continue;
            }
            match fields(text, line, self.delimiter).filter(|v| v.len() == self.width) {
                Some(values) => self.push(&values, cells),
                None => return (end, false),
            }
            end = row.end;
        }
        (end, true)
    }

    /// Pushes the cells of the tuples of values from `at` (`(1, 'Ana'), (2, 'Mei');`) to
    /// `end`. False for a tuple left open.
    fn tuples(
        &self,
        text: &[u8],
        mut at: usize,
        end: usize,
        backslash: bool,
        cells: &mut Vec<(Range<usize>, Column)>,
    ) -> bool {
        loop {
            while at < end && matches!(text[at], b' ' | b',') {
                at += 1;
            }
            if at >= end || text[at] != b'(' {
                return true;
            }
            match sql_tuple(text, at + 1, end, backslash) {
                Some((values, after)) => {
                    self.push(&values, cells);
                    at = after;
                }
                None => return false,
            }
        }
    }
}

/// Whether `bytes` starts with `word`, in any case.
fn starts_with_word(bytes: &[u8], word: &[u8]) -> bool {
    bytes.len() > word.len() && bytes[..word.len()].eq_ignore_ascii_case(word)
}

/// A table's name without its quotes (`` `users` ``, `"public"."users"`, `[dbo].[users]`).
fn unquoted_name(name: &[u8]) -> Vec<u8> {
    name.iter()
        .copied()
        .filter(|b| !b"`\"[]".contains(b))
        .collect()
}

/// Where the values of the `INSERT` into `table` on `line` start, if it is one without
/// a column list: `INSERT INTO `users` VALUES (…)`, `INSERT IGNORE INTO`, `REPLACE INTO`.
fn values_of_insert(text: &[u8], line: Range<usize>, table: &[u8]) -> Option<usize> {
    let bytes = &text[line.clone()];
    let head = [
        &b"INSERT INTO "[..],
        b"INSERT IGNORE INTO ",
        b"REPLACE INTO ",
    ]
    .into_iter()
    .find(|word| starts_with_word(bytes, word))?;
    let rest = &bytes[head.len()..];
    let name_end = rest.iter().position(|b| *b == b' ' || *b == b'(')?;
    if unquoted_name(&rest[..name_end]) != table {
        return None;
    }
    after_values(text, line.end - rest.len() + name_end, line.end)
}

/// Where an SQL statement's values start: after the `VALUES` keyword at `at`, spaces
/// before it skipped.
fn after_values(text: &[u8], at: usize, end: usize) -> Option<usize> {
    let rest = text[at..end].trim_ascii_start();
    starts_with_word(rest, b"values").then(|| end - rest.len() + 6)
}

/// Reads the `CREATE TABLE` on `line`, if it is one: its columns' names, up to the
/// parenthesis that closes them, then the `INSERT`s of values into it that follow. `Ok`
/// as [`table_at`] returns, where the table has a known column; `Err` with where its
/// definitions end (or where their reading stopped), which no other table's search
/// reads again, where it has none.
fn create_table_at(
    text: &[u8],
    line: Range<usize>,
    cells: &mut Vec<(Range<usize>, Column)>,
) -> Option<Result<(Header, usize, bool), usize>> {
    let line = trim_line(text, line);
    let bytes = &text[line.clone()];
    if !starts_with_word(bytes, b"CREATE TABLE ") {
        return None;
    }
    let mut name = &bytes[b"CREATE TABLE ".len()..];
    for word in [&b"IF NOT EXISTS "[..], b"ONLY "] {
        if starts_with_word(name, word) {
            name = &name[word.len()..];
        }
    }
    let name_end = name.iter().position(|b| *b == b' ' || *b == b'(')?;
    let (table, name) = (unquoted_name(&name[..name_end]), &name[..name_end]);
    let open = line.start + memchr::memchr(b'(', bytes)?;
    let limit = text.len().min(open + DEFINITIONS_BYTES);
    let (definitions, close) = match definitions(text, open + 1, limit) {
        Ok(found) => found,
        Err(stopped) => return Some(Err(stopped)),
    };
    let names: Vec<Range<usize>> = definitions
        .into_iter()
        .filter_map(|d| column_of_definition(text, d))
        .collect();
    let statement_end = line_around(text, close).end;
    let rows = Rows::Inserts {
        table: table.into(),
        backslash: name.contains(&b'`'),
    };
    let Some(header) = Header::of(text, &names, b',', rows) else {
        return Some(Err(statement_end));
    };
    let (end, to_end) = header.rows(text, statement_end + 1, cells);
    Some(Ok((header, end.max(statement_end), to_end)))
}

/// The column definitions of a `CREATE TABLE` from `at` (after its `(`) to the
/// parenthesis that closes them, split at the commas between them (not those of
/// `decimal(10,2)` or of a quoted default), and where that parenthesis is. `Err` with
/// where the reading stopped, for a statement not closed before `limit`.
fn definitions(
    text: &[u8],
    mut at: usize,
    limit: usize,
) -> Result<(Vec<Range<usize>>, usize), usize> {
    let (mut parts, mut start, mut depth) = (Vec::new(), at, 0usize);
    while at < limit {
        match text[at] {
            quote @ (b'\'' | b'"' | b'`') => {
                at = closing_quote(text, at + 1..limit, quote, false).ok_or(limit)?;
            }
            b'(' => depth += 1,
            b')' if depth == 0 => {
                parts.push(start..at);
                return Ok((parts, at));
            }
            b')' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(start..at);
                start = at + 1;
            }
            _ => {}
        }
        at += 1;
    }
    Err(limit)
}

/// The column a definition names (`` `first_name` varchar(64) DEFAULT NULL``, `phone
/// text`), without its quotes; `None` for a constraint or an index (`PRIMARY KEY (id)`).
fn column_of_definition(text: &[u8], definition: Range<usize>) -> Option<Range<usize>> {
    let definition = trim_line(text, definition);
    let bytes = &text[definition.clone()];
    let close = match bytes.first()? {
        b'`' => Some(b'`'),
        b'"' => Some(b'"'),
        b'[' => Some(b']'),
        _ => None,
    };
    if let Some(close) = close {
        let end = memchr::memchr(close, &bytes[1..])?;
        return Some(definition.start + 1..definition.start + 1 + end);
    }
    let end = bytes
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(bytes.len());
    let word = &bytes[..end];
    let keyword = NOT_COLUMNS
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k.as_bytes()));
    (!keyword && column_name(word)).then_some(definition.start..definition.start + end)
}

/// The cells of every column [`column`] knows, in every table of `text` whose header
/// names one, in order: the cell's bytes without the spaces and quotes around them.
/// With the header `carried` over from the text before, the first lines are read as its
/// rows. Also the header of the table whose rows run to the end of `text`, for the next.
/// Each line is read once at most as a header and once as a row, so the work is linear
/// in the text.
pub(crate) fn cells(
    text: &[u8],
    carried: Option<&Header>,
) -> (Vec<(Range<usize>, Column)>, Option<Header>) {
    static WORDS: std::sync::OnceLock<Option<AhoCorasick>> = std::sync::OnceLock::new();
    let Some(words) = WORDS
        .get_or_init(|| {
            // In their three usual cases, not case-insensitive: few enough patterns for a
            // packed (SIMD) search, where a case-insensitive automaton walked every byte
            // and cost a sixth of a run on source code.
            let words = COLUMN_WORDS.iter().flat_map(|word| {
                let mut capital = word.to_string();
                capital[..1].make_ascii_uppercase();
                [word.to_string(), capital, word.to_ascii_uppercase()]
            });
            AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(words)
                .ok()
        })
        .as_ref()
    else {
        return (Vec::new(), None);
    };
    let mut cells = Vec::new();
    let (mut at, mut open) = (0, None);
    if let Some(header) = carried {
        let (end, to_end) = header.rows(text, 0, &mut cells);
        at = end;
        open = to_end.then(|| header.clone());
    }
    while let Some(hit) = words.find(aho_corasick::Input::new(text).span(at..text.len())) {
        let line = line_around(text, hit.start());
        at = line.end.max(hit.end());
        let found = match create_table_at(text, line.clone(), &mut cells) {
            Some(Ok(found)) => Some(found),
            Some(Err(end)) => {
                at = at.max(end);
                None
            }
            None => match statement_at(text, line.clone(), &mut cells) {
                Some(found) => Some(found),
                None if line.len() <= HEADER_BYTES => table_at(text, line, &mut cells),
                None => None,
            },
        };
        if let Some((header, end, to_end)) = found {
            at = at.max(end);
            open = to_end.then_some(header);
        }
    }
    (cells, open)
}

/// The line around `at`, without its line break.
fn line_around(text: &[u8], at: usize) -> Range<usize> {
    let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
    let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p);
    start..end
}

/// Reads the table whose header is `header`, if it is one: pushes the cells of its known
/// columns and returns the header, where its last row ends and whether its rows ran to
/// the end of `text`.
fn table_at(
    text: &[u8],
    header: Range<usize>,
    cells: &mut Vec<(Range<usize>, Column)>,
) -> Option<(Header, usize, bool)> {
    if !text[header.clone()]
        .iter()
        .all(|&b| HEADER_LINE[usize::from(b)])
    {
        return None;
    }
    let line = trim_line(text, header.clone());
    let delimiter = [b'\t', b',', b'|', b';']
        .into_iter()
        .find(|d| memchr::memchr(*d, &text[line.clone()]).is_some())?;
    let names = fields(text, line, delimiter)?;
    if names.len() < 2 || !names.iter().all(|name| column_name(&text[name.clone()])) {
        return None;
    }
    let parsed = Header::of(text, &names, delimiter, Rows::Delimited)?;
    let (end, to_end) = parsed.rows(text, header.end + 1, cells);
    // A header at the text's end has its rows in the next text.
    (end > header.end || to_end).then_some((parsed, end.max(header.end), to_end))
}

/// Reads the SQL statement on `line` that names its columns, if it is one: an `INSERT
/// INTO t (first_name, phone) VALUES ('Piotr', '+48…'), (…);` on the line, or
/// `pg_dump`'s `COPY public.users (id, first_name, phone) FROM stdin;` and the rows of
/// tab-separated values after it up to its `\.`. Pushes the cells of its known columns and
/// returns its header, where the statement ends and whether its rows ran to the end of
/// `text` (an insert's never do).
fn statement_at(
    text: &[u8],
    line: Range<usize>,
    cells: &mut Vec<(Range<usize>, Column)>,
) -> Option<(Header, usize, bool)> {
    let line = trim_line(text, line);
    let bytes = &text[line.clone()];
    let copy = starts_with_word(bytes, b"COPY ");
    if !copy && !starts_with_word(bytes, b"INSERT INTO ") {
        return None;
    }
    // The columns, in the statement's first parentheses.
    let open = line.start + memchr::memchr(b'(', bytes)?;
    let close = open + memchr::memchr(b')', &text[open..line.end])?;
    let names = split_names(text, open + 1..close);
    if copy {
        let from = b") from stdin";
        if !text[close..line.end]
            .get(..from.len())
            .is_some_and(|f| f.eq_ignore_ascii_case(from))
        {
            return None;
        }
        let header = Header::of(text, &names, b'\t', Rows::Copy)?;
        let (end, to_end) = header.rows(text, line.end + 1, cells);
        return Some((header, end.max(line.end), to_end));
    }
    let header = Header::of(text, &names, b',', Rows::Delimited)?;
    // `VALUES`, then tuples of values separated by commas.
    let at = after_values(text, close + 1, line.end)?;
    header
        .tuples(text, at, line.end, false, cells)
        .then_some((header, line.end, false))
}

/// A column list's names, without spaces and quotes (`"first_name"`, `` `phone` ``).
fn split_names(text: &[u8], list: Range<usize>) -> Vec<Range<usize>> {
    let mut names = Vec::new();
    let mut at = list.start;
    for part in text[list.clone()].split(|b| *b == b',') {
        let mut name = trim_line(text, at..at + part.len());
        if name.len() >= 2 && matches!(text[name.start], b'"' | b'`' | b'[') {
            name = name.start + 1..name.end - 1;
        }
        names.push(name);
        at += part.len() + 1;
    }
    names
}

/// The values of the SQL tuple whose first starts at `at` (after its `(`), each without
/// its quotes (`'O''Neil'` gives `O''Neil`; with `backslash`, MySQL's `'O\'Neil'` gives
/// `O\'Neil`), and where the tuple ends (after its `)`). `None` for a quote or a
/// parenthesis left open before `end`.
fn sql_tuple(
    text: &[u8],
    mut at: usize,
    end: usize,
    backslash: bool,
) -> Option<(Vec<Range<usize>>, usize)> {
    let mut values = Vec::new();
    loop {
        while at < end && text[at] == b' ' {
            at += 1;
        }
        if text.get(at) == Some(&b'\'') {
            let start = at + 1;
            let close = closing_quote(text, start..end, b'\'', backslash)?;
            values.push(start..close);
            at = close + 1;
        } else {
            let stop = at + memchr::memchr2(b',', b')', &text[at..end])?;
            values.push(trim_line(text, at..stop));
            at = stop;
        }
        while at < end && text[at] == b' ' {
            at += 1;
        }
        match text.get(at) {
            Some(b',') if at < end => at += 1,
            Some(b')') if at < end => return Some((values, at + 1)),
            _ => return None,
        }
    }
}

/// Where the quoted value that starts at `within.start` (after its opening `quote`)
/// closes: at the first `quote` before `within.end` that is not doubled (`'O''Neil'`,
/// `"say ""hi"""`) and, with `backslash` (MySQL's strings), not escaped by a backslash
/// (`'O\'Neil'`). `None` for a quote left open.
fn closing_quote(text: &[u8], within: Range<usize>, quote: u8, backslash: bool) -> Option<usize> {
    let mut at = within.start;
    loop {
        let rest = &text[at..within.end];
        let found = at
            + match backslash {
                true => memchr::memchr2(quote, b'\\', rest)?,
                false => memchr::memchr(quote, rest)?,
            };
        let escaped = text[found] == b'\\' || found + 1 < within.end && text[found + 1] == quote;
        if !escaped {
            return Some(found);
        }
        at = found + 2;
        if at > within.end {
            return None;
        }
    }
}

/// A line without its carriage return and the spaces around it.
fn trim_line(text: &[u8], line: Range<usize>) -> Range<usize> {
    let bytes = &text[line.clone()];
    let start = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let end = bytes.len()
        - bytes[start..]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    line.start + start..line.start + end
}

/// A header's field: a column's name (`first_name`, `"Phone Number"`, `e-mail`), not
/// code's or prose's words (`let name = user.name;`).
fn column_name(name: &[u8]) -> bool {
    (1..=COLUMN_NAME_BYTES).contains(&name.len())
        && name[0].is_ascii_alphabetic()
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_-. #/".contains(b))
}

/// The fields of the line `line` split at `delimiter`, each without the spaces and the
/// quotes around it; `|` tables lose their outer bars. `None` for a quote left open.
fn fields(text: &[u8], line: Range<usize>, delimiter: u8) -> Option<Vec<Range<usize>>> {
    let mut line = line;
    if delimiter == b'|' {
        if text[line.clone()].first() == Some(&b'|') {
            line.start += 1;
        }
        if line.end > line.start && text[line.end - 1] == b'|' {
            line.end -= 1;
        }
    }
    let mut fields = Vec::new();
    let mut at = line.start;
    loop {
        let start = at
            + text[at..line.end]
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t' && delimiter != b'\t')
                .count();
        if delimiter != b'|' && text.get(start) == Some(&b'"') && start < line.end {
            // A quoted field: to its closing quote, then to the delimiter.
            let close = closing_quote(text, start + 1..line.end, b'"', false)?;
            fields.push(start + 1..close);
            let rest = &text[close + 1..line.end];
            match memchr::memchr(delimiter, rest) {
                Some(p) if rest[..p].iter().all(|b| *b == b' ') => at = close + 1 + p + 1,
                None if rest.iter().all(|b| *b == b' ') => return Some(fields),
                _ => return None,
            }
        } else {
            let end = memchr::memchr(delimiter, &text[start..line.end]).map(|p| start + p);
            let field = trim_line(text, start..end.unwrap_or(line.end));
            fields.push(field);
            match end {
                Some(end) => at = end + 1,
                None => return Some(fields),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(&str, Column)> {
        cells(text.as_bytes(), None)
            .0
            .into_iter()
            .map(|(r, c)| (&text[r], c))
            .collect()
    }

    #[test]
    fn a_csv_exports_named_columns() {
        let csv = "id,first_name,last_name,email,phone,username\r\n\
                   1001,Piotr,Nowak,piotr@example.org,+48 512 345 678,pnowak\r\n\
                   1002,\"Tanaka, Mei\",\"O\"\"Neil\",mei@example.jp,,mtanaka\r\n";
        assert_eq!(
            found(csv),
            [
                ("Piotr", Column::Person),
                ("Nowak", Column::Person),
                ("+48 512 345 678", Column::Phone),
                ("pnowak", Column::Account),
                ("Tanaka, Mei", Column::Person),
                ("O\"\"Neil", Column::Person),
                ("mtanaka", Column::Account),
            ]
        );
    }

    #[test]
    fn psql_mysql_tsv_and_markdown_tables() {
        let psql = " id | full_name        | mobile\n----+------------------+-----------------\n  1 | Hiroshi Yamamoto | +81 3-1234-5678\n(1 row)\n";
        assert_eq!(
            found(psql),
            [
                ("Hiroshi Yamamoto", Column::Person),
                ("+81 3-1234-5678", Column::Phone)
            ]
        );
        let mysql = "+----+-------------+\n| id | Login       |\n+----+-------------+\n|  1 | abello      |\n+----+-------------+\n";
        assert_eq!(found(mysql), [("abello", Column::Account)]);
        let tsv = "Customer Name\tTelephone\nAisha Bello\t+44 20 7946 0958\n\nAfter the table: name\tphone\n";
        assert_eq!(
            found(tsv),
            [
                ("Aisha Bello", Column::Person),
                ("+44 20 7946 0958", Column::Phone)
            ]
        );
        let markdown = "| Surname | Role |\n|---|:--|\n| Okeke | lead |\n";
        assert_eq!(found(markdown), [("Okeke", Column::Person)]);
    }

    #[test]
    fn sql_inserts_and_pg_dumps_copy_name_their_columns() {
        let insert = "INSERT INTO public.users (id, \"full_name\", email, `login`) VALUES (1, 'Yuki Sato', 'y@example.jp', 'ysato'), (2,'O''Neil, Mary',NULL,'moneil');\n";
        assert_eq!(
            found(insert),
            [
                ("Yuki Sato", Column::Person),
                ("ysato", Column::Account),
                ("O''Neil, Mary", Column::Person),
                ("moneil", Column::Account),
            ]
        );
        let copy = "COPY public.customers (id, first_name, phone) FROM stdin;\n1\tPiotr\t+48 512 345 678\n2\t\\N\t\\N\n\\.\nSELECT 1;\n";
        assert_eq!(
            found(copy),
            [
                ("Piotr", Column::Person),
                ("+48 512 345 678", Column::Phone),
                ("\\N", Column::Person),
                ("\\N", Column::Phone),
            ]
        );
        for text in [
            // No known column; no column list; a quote left open.
            "INSERT INTO t (id, title) VALUES (1, 'Dr');\n",
            "INSERT INTO t VALUES (1, 'Yuki Sato');\n",
            "insert into users (first_name) values ('Yuki);\n",
            "COPY users (first_name) TO '/tmp/x.csv';\nPiotr\n",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    /// `mysqldump`'s output for one table, with `rows` as its `INSERT`s' lines.
    fn mysqldump(rows: &str) -> String {
        format!(
            "--\n-- Table structure for table `users`\n--\n\nDROP TABLE IF EXISTS `users`;\n\
             /*!40101 SET @saved_cs_client     = @@character_set_client */;\n\
             CREATE TABLE `users` (\n  `id` int NOT NULL AUTO_INCREMENT,\n\
             \x20 `first_name` varchar(64) DEFAULT NULL,\n  `last_name` varchar(64) DEFAULT NULL,\n\
             \x20 `balance` decimal(10,2) DEFAULT '0.00',\n  `note` text COMMENT 'who (if any), why',\n\
             \x20 `phone` varchar(32) DEFAULT NULL,\n  `login` varchar(32) NOT NULL,\n\
             \x20 PRIMARY KEY (`id`),\n  UNIQUE KEY `login` (`login`),\n\
             \x20 KEY `idx_name` (`last_name`,`first_name`)\n\
             ) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4;\n\
             /*!40101 SET character_set_client = @saved_cs_client */;\n\n\
             --\n-- Dumping data for table `users`\n--\n\n\
             LOCK TABLES `users` WRITE;\n/*!40000 ALTER TABLE `users` DISABLE KEYS */;\n\
             {rows}/*!40000 ALTER TABLE `users` ENABLE KEYS */;\nUNLOCK TABLES;\n\
             INSERT INTO `users` VALUES (9,'Not','Read',0,NULL,NULL,'x');\n"
        )
    }

    #[test]
    fn a_dumps_inserts_take_their_columns_from_the_create_table_before() {
        let dump = mysqldump(
            "INSERT INTO `users` VALUES (1,'Piotr','Nowak',12.50,'a, b','+48 22 123 45 67','pnowak'),\
             (2,'Mei','O\\'Neil',0.00,NULL,NULL,'moneil');\n\
             INSERT INTO `users` VALUES (3,'Yuki','Sato',1.00,'(x)','+81 3-1234-5678','ysato');\n",
        );
        assert_eq!(
            found(&dump),
            [
                ("Piotr", Column::Person),
                ("Nowak", Column::Person),
                ("+48 22 123 45 67", Column::Phone),
                ("pnowak", Column::Account),
                ("Mei", Column::Person),
                ("O\\'Neil", Column::Person),
                ("NULL", Column::Phone),
                ("moneil", Column::Account),
                ("Yuki", Column::Person),
                ("Sato", Column::Person),
                ("+81 3-1234-5678", Column::Phone),
                ("ysato", Column::Account),
            ]
        );
        // PostgreSQL's names and its standard strings, where a backslash is a character.
        let pg = "CREATE TABLE IF NOT EXISTS public.contacts (\n    id integer NOT NULL,\n    \"full_name\" text,\n    mobile text\n);\nINSERT INTO public.contacts VALUES (1, 'Aisha Bello', '+44 20 7946 0958');\nINSERT INTO public.contacts VALUES (2, 'C:\\', NULL);\n";
        assert_eq!(
            found(pg),
            [
                ("Aisha Bello", Column::Person),
                ("+44 20 7946 0958", Column::Phone),
                ("C:\\", Column::Person),
                ("NULL", Column::Phone),
            ]
        );
        for text in [
            // No known column; another table's insert; a column list of another width;
            // definitions never closed.
            "CREATE TABLE t (id int, title text);\nINSERT INTO t VALUES (1, 'Dr');\n",
            "CREATE TABLE a (first_name text);\nINSERT INTO b VALUES ('Piotr');\n",
            "CREATE TABLE a (id int, first_name text);\nINSERT INTO a VALUES (1, 'Piotr', 'x');\n",
            "CREATE TABLE a (id int, first_name text\nINSERT INTO a VALUES (1, 'Piotr');\n",
            // Prose between them ends the table's data.
            "CREATE TABLE a (first_name text);\nThen we ran:\nINSERT INTO a VALUES ('Piotr');\n",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
        // The dump goes on in the next text, among its comments and locks.
        let (first, open) = cells(
            b"CREATE TABLE `u` (\n  `id` int,\n  `login` varchar(8)\n);\n\n--\n",
            None,
        );
        assert!(first.is_empty());
        let next = "LOCK TABLES `u` WRITE;\nINSERT INTO `u` VALUES (1,'ana');\nUNLOCK TABLES;\n";
        let (found, open) = cells(next.as_bytes(), open.as_ref());
        let found: Vec<&str> = found.iter().map(|(r, _)| &next[r.clone()]).collect();
        assert_eq!(found, ["ana"]);
        assert_eq!(open, None);
    }

    #[test]
    fn unclosed_create_tables_are_read_once() {
        let text = "CREATE TABLE t (first_name text, ".repeat(100_000);
        assert_eq!(found(&text), []);
        let text = "CREATE TABLE t (first_name text);\n".repeat(50_000);
        assert_eq!(found(&text), []);
    }

    #[test]
    fn no_table_where_the_header_names_no_known_column_or_is_code() {
        for text in [
            // A bare `name` is a resource's as often as a person's.
            "name,namespace,status\nweb-7d9f,prod,Running\n",
            "let name = user.name;\nlet login = user.login, phone;\n",
            // Code calling with a known word: fields that are no column's names.
            "call(first_name, last_name)\nfoo(Piotr, Nowak)\n",
            // A header with no row under it, and rows of another width.
            "first_name,last_name\n",
            "first_name,last_name\nPiotr\nNowak,Piotr,extra\n",
            // A quote left open.
            "first_name,\"last_name\nPiotr,Nowak\n",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn a_carried_header_reads_only_the_rows_that_go_on() {
        let (_, open) = cells(b"x\nfirst_name,phone\nAna,+48 512 345 678\n", None);
        let header = open.expect("the rows run to the end");
        // The next text goes on with rows, then stops at one of another width.
        let next = "Mei,+81 3-1234-5678\nweb01,10.0.0.1,extra\nZoe,+1 555 010 0199\n";
        let (found, open) = cells(next.as_bytes(), Some(&header));
        let found: Vec<&str> = found.iter().map(|(r, _)| &next[r.clone()]).collect();
        assert_eq!(found, ["Mei", "+81 3-1234-5678"]);
        assert_eq!(open, None, "the table ended in this text");
        // A text that starts with no row reads nothing under it.
        let (found, open) = cells(b"Dec  5 10:00:01 web-03 sshd[991]: ok\n", Some(&header));
        assert!(found.is_empty() && open.is_none());
        // Nor does a table that ends before the text does carry on.
        let (_, open) = cells(b"first_name,phone\nAna,+48 512 345 678\n\nprose\n", None);
        assert_eq!(open, None);
    }

    #[test]
    fn a_long_line_of_column_words_is_read_once() {
        // Every hit on one line is skipped with the line: linear however many there are.
        let line = "name,user,phone,".repeat(50_000);
        assert_eq!(found(&line), []);
        let rows = format!("username,phone\n{}", "alice,+1 555 0100\n".repeat(20_000));
        assert_eq!(found(&rows).len(), 40_000);
    }
}
