//! Detectors: one multi-pattern automaton finds candidates; exact validators confirm them.

use regex_automata::hybrid;
use regex_automata::meta::Regex as MultiRegex;
use regex_automata::nfa::thompson::pikevm;
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

use crate::allow::Allowed;
use crate::validate::{self, WordList};
use crate::{Category, CustomPattern};

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    PrivateKey,
    Jwt,
    AwsAccessKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    GcpApiKey,
    /// A service's token known by its prefix (OpenAI's `sk-proj-`, npm's `npm_`, Vault's
    /// `hvs.`, …).
    ApiToken,
    AzureStorageKey,
    AzureClientSecret,
    /// The secret path of a chat service's incoming webhook (Slack, Discord, Teams).
    Webhook,
    /// A signed URL's signature or session token (Azure SAS, S3 and GCS pre-signed URLs).
    UrlSignature,
    BearerToken,
    /// A web session's cookie or identifier: whoever holds it is logged in as its user.
    SessionToken,
    UrlPassword,
    PasswordHash,
    Password,
    Email,
    PersonName,
    MacAddress,
    Ipv6,
    Ipv4,
    PaymentCard,
    Iban,
    UsSsn,
    UkNino,
    NlBsn,
    CaSin,
    InAadhaar,
    Passport,
    DriverLicense,
    /// A customer's, client's or account's number after its label.
    AccountNumber,
    DateOfBirth,
    Phone,
    Username,
    Hostname,
    /// A user's own keyword or pattern, by its index in the policy.
    Custom(usize),
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::PrivateKey => "private_key",
            Kind::Jwt => "jwt",
            Kind::AwsAccessKey => "aws_access_key",
            Kind::GithubToken => "github_token",
            Kind::GitlabToken => "gitlab_token",
            Kind::SlackToken => "slack_token",
            Kind::StripeKey => "stripe_key",
            Kind::GcpApiKey => "gcp_api_key",
            Kind::ApiToken => "api_token",
            Kind::AzureStorageKey => "azure_storage_key",
            Kind::AzureClientSecret => "azure_client_secret",
            Kind::Webhook => "webhook_secret",
            Kind::UrlSignature => "url_signature",
            Kind::BearerToken => "bearer_token",
            Kind::SessionToken => "session_token",
            Kind::UrlPassword => "url_password",
            Kind::PasswordHash => "password_hash",
            Kind::Password => "password",
            Kind::Email => "email",
            Kind::PersonName => "person_name",
            Kind::MacAddress => "mac_address",
            Kind::Ipv6 => "ipv6",
            Kind::Ipv4 => "ipv4",
            Kind::PaymentCard => "payment_card",
            Kind::Iban => "iban",
            Kind::UsSsn => "us_ssn",
            Kind::UkNino => "uk_nino",
            Kind::NlBsn => "nl_bsn",
            Kind::CaSin => "ca_sin",
            Kind::InAadhaar => "in_aadhaar",
            Kind::Passport => "passport",
            Kind::DriverLicense => "driver_license",
            Kind::AccountNumber => "account_number",
            Kind::DateOfBirth => "date_of_birth",
            Kind::Phone => "phone",
            Kind::Username => "username",
            Kind::Hostname => "hostname",
            Kind::Custom(_) => "custom",
        }
    }
}

/// One piece of personal data or secret found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Byte offsets of the sensitive value.
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    pub category: Category,
    /// 0.0–1.0: how sure the detector is.
    pub confidence: f32,
    /// Why it fired, for reports.
    pub reason: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    None,
    /// A PEM header: the finding runs to the matching END line, within 16 KiB.
    PemBlock,
    /// Base64 whose first bytes decode to a PEM private key's header.
    Base64PemKey,
    Secret,
    Email,
    /// An email address whose `@` is written `%40`, as a URL's query carries it.
    EncodedEmail,
    Name,
    /// A common first name, alone or followed by a surname.
    KnownName,
    /// A first name, a middle initial and a surname.
    InitialName,
    /// A full name after a label (`User:`) that is a word of its own.
    LabelledName,
    /// A full name after a hand-off (`escalated to`, `reported by`), none of whose words
    /// names a team, a company or a place.
    HandoffName,
    Mac,
    Ipv6,
    Ipv4,
    Card,
    /// A number after a card's label: any issuer, twelve digits or more, Luhn.
    LabelledCard,
    Iban,
    Ssn,
    Nino,
    Bsn,
    Sin,
    Aadhaar,
    Phone,
    /// A number after a telephone's label: any grouping, but no address, date or code.
    LabelledPhone,
    Username,
    /// A user name as a directory's common name (`CN=svc_sssd,OU=…,DC=…`): not one of the
    /// directory's own containers or groups.
    DirectoryName,
    Hostname,
    /// The domain of an LDAP distinguished name's `DC=` parts.
    DnDomain,
    /// A Windows account after its domain: not the system's own domains or accounts.
    DomainUser,
    /// A host's own name after its label or as a UNC path's server: a word with a letter,
    /// not one that names no host (`localhost`, `none`).
    HostLabel,
    /// A secret after its keyword on a line that starts as a network device's setting does
    /// ([`DEVICE_SECRET_LINES`]).
    DeviceSecret,
    /// A URL's host named by its one label, after its scheme or its userinfo: checked as
    /// [`Check::HostLabel`], but not learned as the hosts those labels name are.
    UrlHost,
    /// An account and the host it is on, `user@host` (a shell prompt's `[jdoe@ws-0142
    /// ~]$`, an SSH public key's comment): two findings, each where its own check passes
    /// (`root@db03` gives the host alone).
    UserAtHost,
    /// An account and its password, `user:password` after curl's `-u`, `user/password`
    /// in an Oracle login: two findings.
    UserPassword,
    /// A password given as an option of a command that takes it so (`mysql -pS3cret`,
    /// `sshpass -p S3cret`, `docker login -p S3cret`, `redis-cli -a S3cret`).
    CommandSecret,
    /// A secret whose name says so only in passing (`SECRET_KEY_BASE`): long, and random
    /// to read.
    RandomSecret,
    /// A session's cookie or identifier: random to read as [`Check::RandomSecret`] wants,
    /// and no Windows security identifier (`sid: S-1-5-21-…`, found as an account).
    SessionToken,
    /// A `.netrc` entry's password: a secret as [`Check::Secret`] reads one, with the
    /// entry's host and account before it (`machine api.acme.com login alice password
    /// …`): up to three findings.
    Netrc,
    /// `net use`'s `/user:CORP\jdoe S3cret`: the account and its password.
    NetUse,
    /// A literal of `kubectl create secret`, whatever its key.
    KubeLiteral,
    /// A Redis ACL user's password after its `>`, on a line that starts as `user NAME` or
    /// `ACL SETUSER NAME` does.
    RedisAcl,
    /// `user@host` after an SSH or copy command (`ssh alice@bastion`): the account and the
    /// host ([`destination_parts`]).
    SshDestination,
    /// A `.pgpass` line's password, with the line's host and account before it
    /// (`db-01:5432:sales:report:…`): up to three findings.
    Pgpass,
    /// An account given as an option of a command that takes it so (`psql -U jdoe`, `mysql
    /// -u jdoe`, `docker login -u jdoe`, `ssh -l jdoe`).
    CommandUser,
    /// A database server given as an option of a client that takes it so (`mysql -h
    /// db-prod-01`, `psql --host=pg-02`, `redis-cli -h cache-01`): a host's own name as
    /// [`Check::HostLabel`] reads one.
    CommandHost,
    /// A host's one label before a remote path (`nfs01:/export/home`, `scp x web-01:/tmp`):
    /// a host's own name with a digit or a hyphen (`HTTP:/` is no host).
    PathHost,
    /// An IAM user or a role's session after an IAM or STS ARN's account.
    IamUser,
    /// A Kubernetes Secret's `data:` or `stringData:` block (YAML) or object (JSON): the
    /// finding runs to the block's end, and only in a document of `kind: Secret`.
    KubeSecret,
    /// An Entra ID client secret from its digit and `Q~` on: the three characters before
    /// them belong to it, and a character of its alphabet may not go on after it.
    AzureSecret,
    /// A token from its vendor's mark on: Terraform Cloud's `.atlasv1.` takes the 14
    /// letters or digits before it, Mailchimp's `-us12` the 32 hexadecimal digits.
    TokenHead,
    /// `user:password` in base64.
    BasicAuth,
    /// An account as a ticket's field's value: not a type's name (`owner: str` in Python)
    /// or code's member (`self.owner`), and an account as [`Check::Username`] reads one.
    FieldUser,
    /// A person's name as a field's value (`"firstName": "Piotr"`): a name as a hand-off's
    /// is, and not a type's (`first_name: String`, `lastName: Optional<str>`).
    FieldName,
    /// The full names of a list of people after its field (`Attendees: Jamal Haddad, Yuki
    /// Sato and Lars Eriksson`, `Cc: …`), each as a hand-off's: the first the match's, the
    /// others read from the rest of the line.
    ListName,
    /// A document's number after its label (a passport's, a licence's, a customer's): three
    /// digits or more, not one repeated.
    IdNumber,
}

impl Check {
    /// Whether a refused match is searched again from its second byte: an option of no
    /// command that takes it so (`sudo -u`, `mkdir -p`) or a keyword on no device's line
    /// may be another detector's context (`--user alice`, `password = x`).
    fn resumes_inside(self) -> bool {
        matches!(
            self,
            Check::CommandSecret
                | Check::CommandUser
                | Check::CommandHost
                | Check::UserPassword
                | Check::DeviceSecret
        )
    }
}

/// How long a run of an address's characters must be for a search that starts in it to
/// look within a window first ([`Detectors::search_from`]).
const RUN_WINDOW: usize = 8 * 1024;

/// A byte of an email address's local part, a URL's scheme or a host name's run: what the
/// patterns that wait for an `@` or a `://` read before it.
fn address_run_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b".-_%+".contains(&b)
}

/// The longest value a detector's group gives that a check takes (a password, a token).
const MAX_VALUE_BYTES: usize = 512;

/// How far a PEM block's END line may lie from its BEGIN line.
pub const PEM_BLOCK_BYTES: usize = 16 * 1024;

struct Detector {
    kind: Kind,
    category: Category,
    confidence: f32,
    reason: &'static str,
    pattern: String,
    /// What the multi-pattern search looks for instead of `pattern`, where `pattern`'s
    /// start would be followed at every word of every text (a name before an email
    /// address's `<`): a rarer part of `pattern` that ends its match. Where it is found,
    /// `pattern`'s match that ends there is read back from it.
    trigger: Option<String>,
    /// Where the sensitive value is in a match.
    value: Value,
    check: Check,
}

impl Detector {
    /// What the multi-pattern search looks for.
    fn searched(&self) -> &str {
        self.trigger.as_deref().unwrap_or(&self.pattern)
    }
}

/// How far back from its trigger a detector's match is read: a name's three words.
const READ_BACK_BYTES: usize = 256;

/// Where a detector's value is in its match.
#[derive(Clone, Copy, PartialEq)]
enum Value {
    /// The whole match.
    Whole,
    /// The group named `v`, picked out by a second, anchored pass over the match.
    Group,
    /// The group named `v`, which ends the match and holds none of these bytes, while
    /// the context before it (`user=`, `/home/`) ends with one: the value is the match
    /// after the last of them, and no second pass is needed.
    After(&'static [u8]),
}

/// A character of a secret-named key's value: up to a space, quote or delimiter, or an
/// escaped line break (`\n` in a JSON string ends the line, and the value with it; an
/// escaped backslash is a pair, so `\\n` is not one).
const SECRET_CHAR: &str = r#"(?:[^\s"'<>;,&)}\]\\]|\\[^nrt\s"'])"#;
/// A hashed password's scheme before it (`{SSHA}`, `{CRYPT}`): part of the value, though a
/// value otherwise ends at a brace.
const SCHEME: &str = r"(?:\{[A-Za-z0-9-]{2,12}\})";
/// A URL's host named by its one label, as the group `v`, with its port and the byte that
/// ends it.
const URL_HOST: &str = r#"(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)(?::[0-9]{1,5})?(?:[/\s"'?#]|\z)"#;
/// An account and its host, `jdoe@ws-0142` or `jdoe@db03.corp.acme.com`: no email's
/// local part (no `+` or `%`), a host's labels after it.
const USER_AT_HOST: &str = r"[A-Za-z_][A-Za-z0-9._-]*@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?";
/// An account and its host's short name, as a shell's prompt shows them (`\\u@\\h`): one
/// label, so that the automaton follows an email's domain no further than its first.
const USER_AT_SHORT_HOST: &str = r"[A-Za-z_][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9-]*";
/// A session's cookie or identifier by its name, whole or as the last word of a longer one
/// (`_portal_session`, `okta-oauth-state`, `next-auth.session-token`, `MRHSession`,
/// `SMSESSION`).
const SESSION_KEY: &str = r"(?:(?:\b|[_.-])(?i:sess(?:ion)?(?:[_.-]?(?:id|token|key|state))?|sid|oauth[_-]?state|remember[_-]?(?:me|token))|[A-Za-z0-9](?:Session|SESSION)(?:Id|ID|Token)?)";
const SECRET_KEYS: &str = r"password|passwd|passphrase|pwd|pass|secret|secret[_-]?id|client_secret|aws_secret_access_key|secret_access_key|api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key|secret[_-]?key|token|authtok|bindpw|rootpw|masterauth|requirepass|dockerconfigjson|dockercfg|jsessionid|phpsessid|sessionid|asp\.net_sessionid|connect\.sid|laravel_session|csrftoken|license[_-]?key|aspxauth|aspnetcore\.(?:cookies|session|antiforgery[a-z0-9._-]*)|psk|pre[_-]?shared[_-]?key|wpa[_-]?passphrase";
/// A secret-named key: one of [`SECRET_KEYS`] in any case, whole or as the last word of a
/// longer name (`DB_PASSWORD`, `ldap_default_authtok`, `mysql-root-password`, a dotted
/// property's `spring.datasource.password`), or a capitalised one ending a camel-case name
/// (`dbPassword`, `ClientSecret`), or a password's word ending a name in capitals
/// (`PGPASSWORD`, `KEYSTOREPASSWORD`). Only the last word is matched, after the byte before it,
/// not every identifier from its start in case a secret's word ends it: the automaton's
/// states are built as it meets them, and on source code each such state costs.
fn secret_key_pattern() -> String {
    format!(
        r"(?:(?:\b|[_-])(?i:{SECRET_KEYS})|[a-z0-9](?:Password|Passwd|Passphrase|Secret|Token|ApiKey|Pwd)|[A-Z0-9](?:PASSWORD|PASSWD|PASSPHRASE))"
    )
}
/// What may follow a secret's word to name one of several (`DB_PASSWORD_PRIMARY`,
/// `API_KEY_STAGING`, `password_prod`, `REDIS_PASSWORD_2`): an environment, a role in a
/// pair or rotation, or a number. A closed list, not any suffix: `PASSWORD_MIN_LENGTH`
/// and `TOKEN_TTL` name settings about a secret, not one.
const SECRET_KEY_QUALIFIER: &str = r"(?:[_-](?i:prod|production|dev|development|stage|staging|stg|qa|test|uat|preprod|primary|secondary|replica|master|main|old|new|current|previous|prev|next|backup|admin|root|default|local|remote|[0-9]{1,2})\b)";
/// A field whose value is a part of a person's name (one of [`crate::table::NAME_PARTS`]
/// before `name`), in any case (`firstName`,
/// `LAST_NAME`, `given-name`, `Surname`); not a bare `name`, which names hosts, products
/// and resources as often as people, nor a `displayName`, which Azure and Microsoft
/// Graph give every application, group, role and subscription.
fn person_field_pattern() -> String {
    let parts = crate::table::NAME_PARTS.join("|");
    format!(r"(?i:(?:{parts})[ _.-]?name|surname)")
}
/// A telephone number's digits in any grouping, with an extension: what a label before or
/// after it lets through (the check asks for 7–15 digits, or 6 in three groups or more).
const LABELLED_PHONE: &str =
    r"(?:[0-9]{1,6}(?:[ .-][0-9]{1,8}){1,6}|[0-9]{6,15})(?:(?:x|ext\.?)[0-9]{1,5})?";
/// A capital letter: ASCII, Latin-1 (`À`–`Þ`), Latin Extended-A (`Ł`, `Š`, `Ż`; its
/// capitals and small letters alternate, so both pass), or their `\u00XX`/`\u01XX` JSON
/// escapes. Few alternatives, as each costs the capture pass a branch per letter.
const CAPITAL: &str =
    r"(?:[A-Z]|\xC3[\x80-\x9E]|[\xC4\xC5][\x80-\xBF]|\\u0(?:0[cdCD]|1[0-7])[0-9a-fA-F])";
/// A letter after the first of a word: any of those, in either case.
const SMALL: &str = r"(?:[a-z]|[\xC3-\xC5][\x80-\xBF]|\\u0(?:0[c-fC-F]|1[0-7])[0-9a-fA-F])";

/// A person's name: one to three capitalised words (`Jürgen Müller`, `Turly O'Connor`,
/// `O'Brien`), each with at most one more capital after a prefix of one or two small
/// letters (`McDonald`, `MacLeod`, `DeShawn`; not an identifier's `LevelFilter`).
fn name_pattern() -> String {
    format!(
        r"{CAPITAL}(?:'[A-Z])?{PREFIX}{SMALL}+(?:[ \t]{CAPITAL}(?:'[A-Z])?{PREFIX}(?:{SMALL}|['-])+){{0,2}}"
    )
}

/// The small letters of a surname's prefix and the capital after them (`cD` of
/// `McDonald`, `ac` and `L` of `MacLeod`), if any.
const PREFIX: &str = r"(?:[a-z]{1,2}[A-Z])?";

/// A surname after a first name, ending in a letter so that the word boundary after it
/// holds however the text goes on (`Ghazi`, `O'Neil-Byrne`, `D'Orazio`, `Ts'o`).
fn surname_pattern() -> String {
    format!(r"{CAPITAL}(?:'[A-Z])?{PREFIX}{SMALL}+(?:['-]{CAPITAL}?{SMALL}+)?")
}

/// The patterns whose match's start [`scanned_start`] reads back from its end: an email
/// address, an IPv4 address, a host name.
const EMAIL_PATTERN: &str =
    r"\b[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9][A-Za-z0-9-]*)+\b";
const IPV4_PATTERN: &str = r"\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b";
const HOSTNAME_PATTERN: &str =
    r"\b[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9][A-Za-z0-9-]*)*\.[A-Za-z][A-Za-z0-9-]*\b";

/// The shape of one of those patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Email,
    Ipv4,
    Hostname,
}

impl Shape {
    /// The shape `pattern` has, if it is one of the patterns above.
    fn of(pattern: &str) -> Option<Self> {
        match pattern {
            EMAIL_PATTERN => Some(Self::Email),
            IPV4_PATTERN => Some(Self::Ipv4),
            HOSTNAME_PATTERN => Some(Self::Hostname),
            _ => None,
        }
    }
}

/// The words that close a letter, the sender's name on the next line (`Best regards,`).
pub(crate) const SIGNATURE_CLOSES: [&str; 4] = ["regards", "thanks", "cheers", "sincerely"];

fn builtin() -> Vec<Detector> {
    let name = name_pattern();
    let surname = surname_pattern();
    let first_names = first_names_pattern();
    let closes = SIGNATURE_CLOSES.join("|");
    let secret_key = secret_key_pattern();
    let person_field = person_field_pattern();
    use Category::*;
    let d = |kind, category, confidence, reason, pattern: &str, value, check| Detector {
        kind,
        category,
        confidence,
        reason,
        pattern: pattern.to_owned(),
        trigger: None,
        value,
        check,
    };
    // A detector whose pattern's start would be followed at every word, every `[` or
    // every `<` of every text (a name before an email address's `<`): the search looks
    // for `trigger`, a rarer part that ends its match, and reads the match back from it.
    let triggered = |trigger: &str, detector: Detector| Detector {
        trigger: Some(trigger.to_owned()),
        ..detector
    };
    // An email address's `<` and local part before its `@`, after a name.
    let address_start = r"<(?:[A-Za-z0-9._%+-]|[\x80-\xFF]|\\u[0-9a-fA-F]{4})+@";
    vec![
        d(
            Kind::PrivateKey,
            Credentials,
            0.99,
            "PEM private key block",
            // And OpenPGP's `PRIVATE KEY BLOCK`, OpenVPN's `Static key V1`.
            r"-----BEGIN (?:(?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?|OpenVPN Static key V1)-----",
            Value::Whole,
            Check::PemBlock,
        ),
        d(
            Kind::PrivateKey,
            Credentials,
            0.99,
            "PEM private key block, base64-encoded",
            // Kubernetes secrets' `tls.key:` and `ssh-privatekey:`, a kubeconfig's
            // `client-key-data:`, as `kubectl get -o yaml` and must-gather write them:
            // `-----BEGIN` in base64; the check decodes the start and wants `PRIVATE KEY`
            // (a certificate's `client-certificate-data` is public).
            r"\bLS0tLS1CRUdJTi[A-Za-z0-9+/]{16,}={0,2}",
            Value::Whole,
            Check::Base64PemKey,
        ),
        d(
            Kind::Jwt,
            Credentials,
            0.95,
            "JSON Web Token (three base64url parts, JSON header)",
            r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::AwsAccessKey,
            Credentials,
            0.95,
            "AWS access key id prefix",
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::GithubToken,
            Credentials,
            0.97,
            "GitHub token prefix",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36}[A-Za-z0-9]*|github_pat_[A-Za-z0-9_]{60}[A-Za-z0-9_]*)\b",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::GitlabToken,
            Credentials,
            0.97,
            "GitLab personal access token prefix",
            r"\bglpat-[A-Za-z0-9_-]{20}[A-Za-z0-9_-]*",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::SlackToken,
            Credentials,
            0.95,
            "Slack token prefix",
            // Bot, user, app and legacy tokens (`xoxb-`, `xoxp-`…), and the configuration
            // tokens' access and refresh halves (`xoxe.xoxp-1-…`, `xoxe-1-…`).
            r"\bxox(?:[abposr]|e(?:\.xox[bp])?)-[A-Za-z0-9-]{10}[A-Za-z0-9-]*",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::StripeKey,
            Credentials,
            0.95,
            "Stripe secret or restricted key prefix",
            r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16}[A-Za-z0-9]*",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::GcpApiKey,
            Credentials,
            0.9,
            "Google API key prefix",
            r"\bAIza[0-9A-Za-z_-]{35}\b",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::ApiToken,
            Credentials,
            0.95,
            "service token with its vendor's prefix",
            // The prefixes secret scanners know, each with the length and alphabet its
            // vendor documents: OpenAI's and Anthropic's `sk-proj-`/`sk-ant-`, Hugging
            // Face's `hf_`, npm's `npm_`, PyPI's `pypi-AgEIcHlwaS5vcmc`, Docker Hub's
            // `dckr_pat_`, GitLab's other tokens (`glrt-`, `gldt-`, `glptt-`…), Vault's
            // `hvs.`/`hvb.`, SendGrid's `SG.`, Shopify's `shpat_`, Twilio's `SK`, Databricks'
            // `dapi`, DigitalOcean's `dop_v1_`, Atlassian's `ATATT3`, Postman's `PMAK-`,
            // Grafana's `glc_`/`glsa_`, New Relic's `NRAK-` (its license keys, which only
            // end in `NRAL`, are found after their name, `license_key`), Linear's
            // `lin_api_`, Notion's `ntn_`, Mailgun's `key-`, Slack's app-level `xapp-`,
            // Stripe's webhook `whsec_`, Heroku's `HRKU-`, Google's OAuth `GOCSPX-` and
            // `ya29.` and refresh tokens' `1//0`, age's secret keys, Pulumi's `pul-`,
            // Doppler's `dp.st.`/`dp.pt.`…, JFrog's `AKCp`, Square's `sq0atp-`/`sq0csp-`,
            // Braintree's `access_token$production$`, Firebase Cloud Messaging's server
            // keys (`AAAA…:APA91b…`).
            r"\b(?:sk-(?:proj|svcacct|admin|ant)-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|hf_[A-Za-z0-9]{30,40}|npm_[A-Za-z0-9]{36}|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}|dckr_pat_[A-Za-z0-9_-]{27,}|gl(?:rt|dt|ptt|cbt|ft|imt|soat|oas|agent)-[A-Za-z0-9_-]{20,}|hv[sb]\.[A-Za-z0-9_-]{24,}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}|shp(?:at|ss|ca|pa)_[A-Fa-f0-9]{32}|SK[0-9a-fA-F]{32}|dapi[a-f0-9]{32}(?:-[0-9])?|do[opr]_v1_[a-f0-9]{64}|ATATT3[A-Za-z0-9_=-]{100,}|PMAK-[a-f0-9]{24}-[a-f0-9]{34}|glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|NR(?:AK|JS|II)-[A-Za-z0-9]{19,}|lin_api_[A-Za-z0-9]{40}|ntn_[0-9]{11}[A-Za-z0-9]{35}|key-[a-f0-9]{32}|xapp-[0-9]-[A-Za-z0-9-]{20,}|whsec_[A-Za-z0-9+/=]{32,}|HRKU-[A-Za-z0-9_-]{30,}|GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{20,}|AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}|1//0[A-Za-z0-9_-]{40,}|pul-[a-f0-9]{40}|dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9._-]{40,}|AKCp[A-Za-z0-9]{64,}|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,}|access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}|AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,})\b",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::ApiToken,
            Credentials,
            0.95,
            "service token with its vendor's mark after its first part",
            // Terraform Cloud's `<14 letters or digits>.atlasv1.…` and Mailchimp's 32
            // hexadecimal digits with their data centre (`…-us12`). The pattern starts at
            // the mark and the check takes the part before: a pattern that starts with a
            // run of a class costs a fifth more time on source code.
            r"\.atlasv1\.[A-Za-z0-9_=-]{60,}|-us[0-9]{1,2}\b",
            Value::Whole,
            Check::TokenHead,
        ),
        d(
            Kind::AzureClientSecret,
            Credentials,
            0.9,
            "Microsoft Entra ID (Azure AD) client secret",
            // `8Q~kZ3r.Vq9TzX…`: three characters, a digit, `Q~`, then 31 to 34. The three
            // before the digit are the check's to take.
            r"[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
            Value::Whole,
            Check::AzureSecret,
        ),
        d(
            Kind::AzureStorageKey,
            Credentials,
            0.95,
            "Azure storage or Service Bus connection string key",
            // A storage account's `AccountKey=`, a Service Bus's or an Event Hub's
            // `SharedAccessKey=`.
            r"(?i:AccountKey|SharedAccessKey)=(?P<v>[A-Za-z0-9+/]{40}[A-Za-z0-9+/]*={0,2})",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::UrlSignature,
            Credentials,
            0.9,
            "signature or session token of a signed URL",
            // An Azure shared access signature's `&sig=` (a blob URL, a Logic App's or a
            // Teams workflow's trigger, a `SharedAccessSignature=` connection string), an
            // S3 or GCS pre-signed URL's `X-Amz-Signature=`, `X-Amz-Security-Token=` and
            // `X-Goog-Signature=`, CloudFront's `Signature=`: whoever holds the URL may
            // read or write until it expires. An AWS Signature Version 4 `Authorization`
            // header's `, Signature=` may be replayed as long.
            r"(?:[?&](?:sig|Signature|(?i:x-amz-signature|x-amz-security-token|x-goog-signature))|,[ ]?Signature)=(?P<v>[A-Za-z0-9%+/._~-]{16}[A-Za-z0-9%+/._~-]*={0,2})",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::Webhook,
            Credentials,
            0.95,
            "secret path of a chat webhook URL (Slack, Microsoft Teams)",
            // Whoever holds `https://hooks.slack.com/services/T…/B…/…` or a Teams
            // connector's `…/webhookb2/…@…/IncomingWebhook/…/…` posts to the channel.
            r"(?:\bhooks\.slack\.com/(?:services|workflows|triggers)/|/webhookb2/|\boutlook\.office(?:365)?\.com/webhook/)(?P<v>[A-Za-z0-9@_-]{8}[A-Za-z0-9@_-]*(?:/[A-Za-z0-9@_-]+)+)",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::Webhook,
            Credentials,
            0.95,
            "secret path of a Discord webhook URL",
            r"\bdiscord(?:app)?\.com/api/webhooks/(?P<v>[0-9]{17,20}/[A-Za-z0-9_-]{60}[A-Za-z0-9_-]*)",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::PrivateKey,
            Credentials,
            0.99,
            "PuTTY private key's lines",
            // A `.ppk` file's `Private-Lines: 14` and the base64 lines it counts.
            r"\bPrivate-Lines:[ \t]*[0-9]+\r?\n(?P<v>[A-Za-z0-9+/=]{4,}(?:\r?\n[A-Za-z0-9+/=]{4,})*)(?:\r?\n|\z)",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::BearerToken,
            Credentials,
            0.9,
            "bearer token or basic credentials in an Authorization header",
            // `Bearer …`, `Token …`, `Basic …` (a user and password in base64), and
            // Kerberos' or NTLM's `Negotiate …`/`NTLM …`, Elasticsearch's `ApiKey …`,
            // Okta's `SSWS …`, in `Proxy-Authorization` too.
            r"(?i:\bauthorization)\s*[:=]\s*\x22?(?i:bearer|basic|token|negotiate|ntlm|apikey|ssws)\s+(?P<v>[A-Za-z0-9._~+/-]{8}[A-Za-z0-9._~+/-]*=*)",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::PasswordHash,
            Credentials,
            0.9,
            "response of HTTP Digest authentication",
            // `Authorization: Digest username="jsmith", …, response="6629fae4…"`: a hash
            // of the password with the request's nonce, which lets the password be
            // guessed offline; MD5's 32 hexadecimal digits or SHA-256's 64.
            r#"\bresponse=\\?"(?P<v>[0-9a-f]{32}(?:[0-9a-f]{32})?)\\?""#,
            Value::Group,
            Check::None,
        ),
        d(
            Kind::PasswordHash,
            Credentials,
            0.95,
            "password hash (crypt, LDAP, SCRAM, PostgreSQL md5, Django, Argon2)",
            // `/etc/shadow`'s `$6$salt$…`, `$y$j9T$…` and bcrypt's `$2b$12$…`; Apache's
            // `.htpasswd` `$apr1$…`; slapd's
            // `rootpw {SSHA}…`; PostgreSQL's `SCRAM-SHA-256$4096:…` and `md5` + 32 hex
            // digits (`pg_authid`, pgbouncer's `userlist.txt`); Django's `pbkdf2_sha256$…`;
            // Argon2's encoded form. A hash lets its password be guessed offline. The last
            // part's length keeps a shell's `$1$2$3` out.
            r"\$(?:1|2[abxy]|5|6|7|y|gy|md5|sha1|apr1)\$(?:[^\s$:\x22']{1,64}\$){1,3}[./A-Za-z0-9]{20,}|\{(?:S?SHA(?:256|384|512)?|S?MD5|CRYPT)\}[A-Za-z0-9+/=$.]{16,}|\bSCRAM-SHA-(?:1|256)\$[0-9]+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]{20,}|\bmd5[0-9a-f]{32}\b|\bpbkdf2_sha(?:1|256|512)\$[0-9]+\$[A-Za-z0-9+/=.]+\$[A-Za-z0-9+/=]{20,}|\$argon2(?:id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]{20,}",
            Value::Whole,
            Check::None,
        ),
        triggered(
            r"://[^\s/:@\x22']*:[^\s/@\x22']+@",
            d(
                Kind::UrlPassword,
                Credentials,
                0.9,
                "password in a URL's userinfo",
                // With its account (`https://builder:S3cret@…`) or without one
                // (`redis://:S3cret@cache-01:6379`).
                r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@\x22']*:(?P<v>[^\s/@\x22']+)@",
                Value::Group,
                Check::Secret,
            ),
        ),
        d(
            Kind::Password,
            Credentials,
            0.85,
            "value of a secret-named key",
            &format!(
                r#"{secret_key}{SECRET_KEY_QUALIFIER}?(?:\\?["'])?\s*(?:=|:|=>)\s*(?:\\?["'])?(?P<v>{SCHEME}?{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#
            ),
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.85,
            "high-entropy value of a setting whose name holds a secret's word",
            // `SECRET_KEY_BASE=9f8e…`, `JWT_SECRET_KEY: …`, `TOKEN_SIGNING_KEY=…`: the
            // secret's word is not the name's last, so the name alone is no evidence (a
            // `PASSWORD_MIN_LENGTH=8`, a `SECRET_FILE=/run/secrets/db`); the check wants a
            // long value that reads as random.
            r#"(?:\b|_)(?:SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|APIKEY|API_KEY|PRIVATE_KEY|CREDENTIALS?)_[A-Z0-9_]*["']?[ \t]*[=:][ \t]*["']?(?P<v>[A-Za-z0-9+/=_.~-]{16}[A-Za-z0-9+/=_.~-]*)"#,
            Value::Group,
            Check::RandomSecret,
        ),
        d(
            Kind::SessionToken,
            Credentials,
            0.85,
            "session cookie or identifier, by its name",
            // A web session's cookie or identifier as a `Cookie:` or `Set-Cookie:` header,
            // a HAR capture's cookie list (`{"name": "sid", "value": "…"}`) or a log's
            // field holds it: `_portal_session=…`, `sid=…`, `"session": "…"`,
            // `sessionId=…`, `okta-oauth-state=…`, F5's `MRHSession=…`. Whoever holds one
            // is logged in as its user: a HAR file's session cookies are how uploads to
            // support have leaked. The name is common in logs (`session opened`,
            // `session=3`): the check wants a long value that reads as random.
            &format!(
                r#"{SESSION_KEY}(?:\\?["'])?(?:[ \t]*[=:][ \t]*|[ \t]*,[ \t]*["']value["'][ \t]*:[ \t]*)(?:\\?["'])?(?P<v>[A-Za-z0-9%+/._~-]{{16}}[A-Za-z0-9%+/._~-]*={{0,2}})"#
            ),
            Value::Group,
            Check::SessionToken,
        ),
        triggered(
            &format!(
                r#"{secret_key}>(?:\s*<Value>)?{SCHEME}?{SECRET_CHAR}{{4}}{SECRET_CHAR}*\}}?</"#
            ),
            d(
                Kind::Password,
                Credentials,
                0.85,
                "value of a secret-named XML element",
                // Maven's `settings.xml` (`<password>…</password>`), Jenkins' `<apiToken>`,
                // a SOAP request's `<Password>`, Windows' answer file's `<AdministratorPassword>
                // <Value>…</Value>`: the element's text, up to its closing tag.
                &format!(
                    r#"<[A-Za-z0-9_.:-]*{secret_key}>(?:\s*<Value>)?(?P<v>{SCHEME}?{SECRET_CHAR}{{4}}{SECRET_CHAR}*)\}}?</"#
                ),
                Value::Group,
                Check::Secret,
            ),
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.8,
            "account in a user-named XML element",
            // `<username>deployer</username>`, `<Login>jdoe</Login>`.
            r#"<(?i:user(?:[_-]?name)?|login|account)>(?P<v>[A-Za-z_][A-Za-z0-9._@-]*)</"#,
            Value::Group,
            Check::Username,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "account and password of a registry's auth in base64",
            // Docker's `config.json`, a pull secret's `.dockerconfigjson`: `"auth":
            // "ZGVwbG95ZXI6…"`, `user:password` in base64 (the check decodes it).
            r#""auth"[ \t]*:[ \t]*"(?P<v>[A-Za-z0-9+/]{8}[A-Za-z0-9+/]*={0,2})""#,
            Value::Group,
            Check::BasicAuth,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "account and password of an npm registry's auth in base64",
            // `.npmrc`'s `_auth=`, for the default registry or one registry's
            // (`//npm.acme.com/:_auth=…`): `user:password` in base64, as Docker's.
            r#"(?m:^)[ \t]*(?://[^\s=]+:)?_auth[ \t]*=[ \t]*["']?(?P<v>[A-Za-z0-9+/]{8}[A-Za-z0-9+/]*={0,2})"#,
            Value::Group,
            Check::BasicAuth,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "secret of an IPsec secrets file",
            // strongSwan's and Libreswan's `ipsec.secrets`: `: PSK "…"`, `jdoe : EAP "…"`.
            r#":[ \t]*(?:PSK|XAUTH|EAP|NTLM)[ \t]+["'](?P<v>[^"'\n]{4,})["']"#,
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "password in an SQL statement",
            // MySQL's `CREATE USER 'x'@'%' IDENTIFIED BY 'S3cret'` (or `IDENTIFIED WITH
            // caching_sha2_password BY`), PostgreSQL's `CREATE ROLE x LOGIN PASSWORD
            // 'S3cret'` and `ALTER USER x WITH PASSWORD 'S3cret'`: the quoted string after
            // the keywords, a `;` or `,` inside it too; but no space, so that code's `"Password
            // " + pwd + "."` and prose's `password "must be longer"` are none.
            r#"(?i:\b(?:identified(?:[ \t]+with[ \t]+[a-z0-9_]+)?[ \t]+by|password))[ \t]+['"](?P<v>[^'"\s]{4}[^'"\s]*)['"]"#,
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.85,
            "value of a secret-named environment variable in a name/value pair",
            // A Kubernetes container's `env:` list, as manifests, `kubectl get -o yaml` and
            // must-gather write it: `- name: DB_PASSWORD` then `value: hunter2` (or the
            // same as JSON, `{"name":"DB_PASSWORD","value":"hunter2"}`).
            &format!(
                r#"\bname["']?[ \t]*:[ \t]*["']?[A-Za-z0-9_.-]*{secret_key}["']?[ \t]*,?\s*["']?value["']?[ \t]*:[ \t]*["']?(?P<v>{SCHEME}?{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#
            ),
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.85,
            "password in a .pgpass line",
            // `hostname:port:database:username:password`, PostgreSQL's password file (a
            // database and a user with a letter or `*`: no timestamp's digits).
            &format!(
                r"(?m:^)[A-Za-z0-9.*_-]+:(?:[0-9]{{1,5}}|\*):[^:\s]*[A-Za-z*][^:\s]*:[^:\s]*[A-Za-z*][^:\s]*:(?P<v>{SECRET_CHAR}{{4}}{SECRET_CHAR}*)(?m:$)"
            ),
            Value::Group,
            Check::Pgpass,
        ),
        d(
            Kind::Password,
            Credentials,
            0.85,
            "value of a secret-named setting in a space-separated configuration",
            // redis.conf's `requirepass foobared` and `masterauth`, nslcd's and slapd's
            // `bindpw`/`rootpw`.
            &format!(
                r#"(?m:^)[ \t]*(?i:requirepass|masterauth|bindpw|rootpw)[ \t]+["']?(?P<v>{SCHEME}?{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#
            ),
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "password of a Redis ACL user",
            // `user alice on >S3cret ~* +@all` in redis.conf or users.acl, `ACL SETUSER alice
            // on >S3cret`: a password after its `>`, on a line that sets a user (the check).
            &format!(r#"[ \t]>(?P<v>{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#),
            Value::Group,
            Check::RedisAcl,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "password of a Redis AUTH command",
            // Typed at `redis-cli`'s prompt (`127.0.0.1:6379> AUTH S3cret`, `AUTH alice
            // S3cret`) or as `MONITOR` prints it (`[0 10.0.0.5:52211] "AUTH" "S3cret"`):
            // the last argument. A log's `] auth failed` has no quotes and is none.
            &format!(
                r#"(?:[0-9]>[ \t]*(?i:auth)[ \t]+(?:[A-Za-z0-9_.@-]+[ \t]+)?|\][ \t]+"(?i:auth)"[ \t]+(?:"[^"\s]+"[ \t]+)?")(?P<v>{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#
            ),
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "literal of kubectl create secret",
            // `kubectl create secret generic app --from-literal=SIGNING=…`: every literal
            // of a secret is one, under whatever key (a ConfigMap's are not: the check).
            &format!(
                r#"--from-literal[= ]["']?[A-Za-z0-9._-]+=(?P<v>{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#
            ),
            Value::Group,
            Check::KubeLiteral,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "value of a Kubernetes Secret's data",
            // `kubectl get secret -o yaml` or `-o json`, a manifest, a list's item, a
            // `last-applied-configuration` annotation's JSON (its quotes escaped in JSON):
            // every value of a Secret's `data` (base64) and `stringData` is a secret, under
            // whatever key (`DATABASE_URL: cG9zdGdyZXM6Ly9…`). The check reads the block
            // and finds the document's `kind: Secret`.
            r#"(?m:^)[ \t]*(?:-[ \t]+)?(?:data|stringData):[ \t]*\r?\n|\\?"(?:data|stringData)\\?"[ \t]*:[ \t]*\{"#,
            Value::Whole,
            Check::KubeSecret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "password of a .netrc entry",
            // `machine api.acme.com login alice password s3cret`, on one line or over
            // several, or the `default` entry that serves every other host: the check
            // finds the entry's host and account too.
            &format!(
                r#"(?m:^)[ \t]*(?:machine[ \t]+[^\s"']+|default)\s+login[ \t]+[^\s"']+\s+password[ \t]+["']?(?P<v>{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#
            ),
            Value::Group,
            Check::Netrc,
        ),
        d(
            Kind::Password,
            Credentials,
            0.85,
            "value of a secret-named key in a table of keys and values",
            // Vault's output (`vault read database/creds/app`, `vault write
            // auth/approle/role/ci/secret-id`): `password   A1a-8kdL…`, `secret_id   9f0c…`,
            // an AWS engine's `secret_key   wJalr…`, each key at its line's start, the value
            // alone after two spaces or more and ending the line (a table of options'
            // `password   The password to use` is prose).
            &format!(
                r#"(?m:^)(?:password|secret_id|secret_key|security_token|client_token|wrapping_token|private_key)[ \t][ \t]+(?P<v>{SECRET_CHAR}{{4}}{SECRET_CHAR}*)[ \t]*\r?(?m:$)"#
            ),
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "password turned into a PowerShell secure string from plain text",
            // `ConvertTo-SecureString "P@ssw0rd" -AsPlainText -Force`: the script holds it.
            r#"(?i:ConvertTo-SecureString)[ \t]+(?:-String[ \t]+)?["'](?P<v>[^"'\r\n]{4,})["'][^\r\n]*(?i:-AsPlainText)"#,
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "secret of a PHP configuration's constant",
            // WordPress' `wp-config.php`: `define('DB_PASSWORD', '…')`, its `AUTH_KEY` and
            // `NONCE_SALT`s, which sign its users' cookies.
            r#"\bdefine\([ \t]*["'][A-Z0-9_]*(?:PASSWORD|PASS|_KEY|_SALT|SECRET|TOKEN)["'][ \t]*,[ \t]*["'](?P<v>[^"'\r\n]{4,})["']"#,
            Value::Group,
            Check::Secret,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "account and password given to net use",
            // `net use \\\\fs01\\share /user:CORP\\jdoe S3cret`: the word after the
            // account is its password (not `*`, which asks, or another switch).
            r#"(?i:[ \t]/u(?:ser)?:)(?P<v>[^\s"'/]+[ \t]+[^\s/*"'][^\s"']{3,})"#,
            Value::Group,
            Check::NetUse,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "secret in a network device's configuration",
            // Cisco IOS and its kin: `enable secret 5 $1$…`, `username x privilege 15 secret
            // 9 $9$…`, `snmp-server community S3cret RO`, `tacacs-server host 10.1.1.5 key 7
            // 0822455D0A16` (type 7 is reversible), `crypto isakmp key`, `key-string`,
            // `wpa-psk ascii 0`, `ntp authentication-key 1 md5`: the value after its keyword
            // and its optional type digit, where the line starts as such a setting does (the
            // check), so that the line's account and addresses before it are found too.
            r"[ \t](?:secret|password|community|key|key-string|ascii|md5|pre-shared-key)[ \t]+(?:[0-9][ \t]+)?(?P<v>[^\s]+)",
            Value::Group,
            Check::DeviceSecret,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "host's own name set by a command or a device's configuration",
            // `hostname core-sw-01` (a switch's configuration, a shell), `hostnamectl
            // set-hostname db03`, `sysname`: the line's last word, after the command.
            r"\b(?:hostname|sysname)[ \t]+(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)[ \t]*;?\r?(?m:$)",
            Value::Group,
            Check::HostLabel,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "host of a URL named by its one label",
            // `amqp://guest:guest@rabbit-02:5672`, `http://web-01:8080/`: after the scheme,
            // or after the userinfo a URL's password detector took.
            &format!(r#"://(?:[^\s/@"']*@)?{URL_HOST}"#),
            Value::Group,
            Check::UrlHost,
        ),
        triggered(
            r"\][$#]",
            d(
                Kind::Username,
                AccountIdentifiers,
                0.9,
                "account and host of a bracketed shell prompt",
                // RHEL's and Fedora's `[jdoe@ws-0142 ~]$`, as a ticket's pasted session shows it.
                &format!(r"\[(?P<v>{USER_AT_SHORT_HOST})[ \t][^\]\n]*\][$#]"),
                Value::Group,
                Check::UserAtHost,
            ),
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.9,
            "account and host of a shell prompt before its directory",
            // Debian's and Ubuntu's `jdoe@ws-0142:~/src$`. From a word's start, as an
            // email address is: from a line's start, past its indentation, every line of
            // source code would cost the automaton states.
            &format!(r"\b(?P<v>{USER_AT_SHORT_HOST}):[~/][^\s]*[$#](?:[ \t]|(?m:$))"),
            Value::Group,
            Check::UserAtHost,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.9,
            "account and host in an SSH public key's comment",
            // `authorized_keys` and `*.pub`: `ssh-ed25519 AAAA… jdoe@ws-0142`.
            &format!(
                r"\b(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)[ \t]+AAAA[A-Za-z0-9+/]+={{0,3}}[ \t]+(?P<v>{USER_AT_HOST})\b"
            ),
            Value::Group,
            Check::UserAtHost,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "account and password given to curl",
            // `curl -u alice:S3cret`, `curl --user 'alice:S3cret'`.
            &format!(
                r#"[ \t](?:-u|--user)[ \t]*["']?(?P<v>[^\s:"']+:{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#
            ),
            Value::Group,
            Check::UserPassword,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "account and password of an Oracle login",
            // `jdbc:oracle:thin:scott/tiger@db03:1521/ORCL`, `sqlplus scott/tiger@orcl`,
            // `expdp system/manager@db`.
            r#"(?:(?i:\bjdbc:oracle:(?:thin|oci8?):)|\b(?:sqlplus|sqlldr|expdp|impdp|exp|imp)(?:[ \t]+-[A-Za-z]+)*[ \t]+)["']?(?P<v>[A-Za-z_][A-Za-z0-9_$#.]*/[^\s@/"']+)@"#,
            Value::Group,
            Check::UserPassword,
        ),
        d(
            Kind::Password,
            Credentials,
            0.9,
            "password given as a command's option",
            // `mysql -pS3cret`, `sshpass -p S3cret`, `docker login -p S3cret`,
            // `redis-cli -a S3cret`, `ldapsearch -w S3cret`: the check knows which command
            // takes which.
            &format!(
                r#"[ \t](?:-p|-a|-w|--password|--passwd)[ \t]*["']?(?P<v>{SECRET_CHAR}{{4}}{SECRET_CHAR}*)"#
            ),
            Value::Group,
            Check::CommandSecret,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "account given as a command's option",
            // `psql -U jdoe`, `mysql -ujdoe`, `docker login -u jdoe`, `ssh -l jdoe`.
            r#"[ \t]-[Uul][ \t]*["']?(?P<v>[A-Za-z_][A-Za-z0-9._-]*)"#,
            Value::Group,
            Check::CommandUser,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "database server given as a client's option",
            // `mysql -h db-prod-01`, `psql --host=pg-02`, `redis-cli -h cache-01`: named by
            // its one label (a dotted name or an address is found as such).
            r#"[ \t](?:-h|--host)(?:[ \t]*|=)["']?(?P<v>[A-Za-z0-9][A-Za-z0-9-]*)(?:[\s"';]|\z)"#,
            Value::Group,
            Check::CommandHost,
        ),
        d(
            Kind::Email,
            Contact,
            0.95,
            "email address with a real domain",
            EMAIL_PATTERN,
            Value::Whole,
            Check::Email,
        ),
        d(
            Kind::Email,
            Contact,
            0.9,
            "email address in a URL, its @ encoded",
            // `/reset?email=jdoe%40acme.com`: the same address, the same pseudonym, its
            // `@` still encoded.
            // The local part as the plain address's pattern has it, so that the automaton
            // follows both in one state.
            r"\b[A-Za-z0-9][A-Za-z0-9._%+-]*%40[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9][A-Za-z0-9-]*)+\b",
            Value::Whole,
            Check::EncodedEmail,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "account and host of an SSH or copy command's destination",
            // `ssh -i key alice@bastion`, `scp f deploy@web-07:/tmp`: a host named by its
            // one label, after a command that connects to it (the check). An account at an
            // address or a dotted name comes as a refused email address.
            &format!(r#"\b(?P<v>{USER_AT_SHORT_HOST})(?:[\s:'"]|\z)"#),
            Value::Group,
            Check::SshDestination,
        ),
        triggered(
            address_start,
            d(
                Kind::PersonName,
                Contact,
                0.7,
                "name beside an email address",
                // `Maria Kowalski <maria@…>`, quoted or not, and Outlook's and Exchange's
                // surname first, `"Kowalski, Maria" <maria@…>`, `"Smith, John A." <…>`.
                &format!(
                    r#"(?P<v>{name}|{surname},[ \t]*{name}(?:[ \t][A-Z]\.?)?)\x22?[ \t]*{address_start}"#
                ),
                Value::Group,
                Check::Name,
            ),
        ),
        d(
            Kind::PersonName,
            Contact,
            0.7,
            "name in a greeting, signature, Name: field or after \"call me\"",
            &format!(
                r"(?:\b(?:Hi|Hello|Dear|Hey|Thanks|Thank you|Regards|Cheers|Sincerely)[,!]?[ \t]+|(?i:\b(?:{closes}))[,!]?[ \t]*(?:\r?\n|(?:\\r)?\\n)[ \t]*|(?m:^)--[ \t]?\r?\n[ \t]*|(?i:\b(?:full[ _]?name|contact[ _]?name|name))[ \t]*[:=][ \t]*\x22?|(?i:\b(?:my|maiden|full|his|her)[ \t]+name[ \t]+is)[ \t]+|\b(?:[Cc]alls?|[Cc]alled)[ \t]+me[ \t]+)(?P<v>{name})"
            ),
            Value::Group,
            Check::Name,
        ),
        d(
            Kind::PersonName,
            Contact,
            0.8,
            "name as the value of a field for a part of it",
            // A record's or a form's `"firstName": "Piotr"`, `last_name: Nowak`,
            // `given_name=Chidi`, `<FamilyName>Okeke</FamilyName>`, `customer_full_name`:
            // the key says whose part of a name the value is.
            &format!(
                r#"(?:(?:\b|_){person_field}(?:\\?["'])?[ \t]*(?:=>|[:=])[ \t]*(?:\\?["'])?|<{person_field}>)(?P<v>{surname}(?:[ \t](?:[A-Z]\.?[ \t])?{surname}){{0,2}})\b"#
            ),
            Value::Group,
            Check::FieldName,
        ),
        d(
            Kind::PersonName,
            Contact,
            0.7,
            "full name in a list of people after its field",
            // Meeting notes' and tickets' `Attendees: Jamal Haddad, Yuki Sato and Lars
            // Eriksson`, `Cc: Priya Raman, Ken Watanabe`: the field's first name, then
            // each after a comma or an `and` on its line, read by the check (as patterns,
            // the names after every comma of source code cost 3.5 % of its run).
            &format!(
                r"\b(?:Attendees|ATTENDEES|Participants|Present|Invitees|[Cc]c|CC)[ \t]*:[ \t]*(?P<v>{CAPITAL}{SMALL}+(?:[ \t](?:[A-Z]\.?[ \t])?{surname}){{1,2}})\b"
            ),
            Value::Group,
            Check::ListName,
        ),
        d(
            Kind::PersonName,
            Contact,
            0.7,
            "name after a title",
            &format!(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?[ \t]+(?P<v>{name})"),
            Value::Group,
            Check::Name,
        ),
        d(
            Kind::PersonName,
            Contact,
            0.7,
            "full name after a hand-off (\"spoke with\", \"escalated to\", \"reported by\")",
            // Tickets and changelogs name people where work passes between them: `Spoke
            // with Ruta Jankauskiene`, `escalated to Tomás Ortega`, `Reported by Niels
            // Thykier`, a trailer's `Approved-by: Olena Kovalenko`, `Thanks to Helmut
            // Grohne`, `Attn: Priya Raman`, `please ask Hiroshi Yamamoto`; and where
            // people introduce themselves (`This is Piotr Nowak`, `I'm Mei Tanaka`). Two capitalised
            // words or three, whoever the first name; the check turns away teams,
            // companies and products (`assigned to Network Operations`, `reported by Red
            // Hat Inc`).
            &format!(
                r"(?:\b(?:(?:[Ss]poke|[Tt]alked|[Cc]hatted|[Mm]et|[Ww]ork(?:ed|ing)|[Ss]peaking)[ \t]+(?:with|to)|(?:[Aa]ssigned|[Rr]eassigned|[Ee]scalated|[Ff]orwarded|[Tt]ransferred|[Hh]anded[ \t]+(?:it[ \t]+)?over|[Rr]eached[ \t]+out|[Tt]hanks|[Tt]hank[ \t]+you|[Cc]redits?)[ \t]+to|(?:[Rr]eported|[Oo]pened|[Rr]aised|[Ss]ubmitted|[Rr]equested|[Aa]pproved|[Ss]uggested|[Pp]atch(?:ed|es)?|[Ff]ixed|[Ss]potted|[Nn]oticed|[Ff]ound|[Cc]ontributed|[Pp]rovided|[Tt]ested|[Rr]eviewed|[Ss]igned[ \t-]+off|[Aa]uthored)(?:[ \t]+|-)by:?|[Oo]n[ \t]+behalf[ \t]+of|[Cc]ourtesy[ \t]+of|[Tt]his[ \t]+is|I'm|I[ \t]+am|[Pp]lease[ \t]+(?:ask|ping|contact))[ \t]+|\b(?:Attn|ATTN|Attention|Cc|CC)[ \t]*:[ \t]*)(?P<v>{CAPITAL}{SMALL}+(?:[ \t](?:[A-Z]\.?[ \t])?{surname}){{1,2}})\b"
            ),
            Value::Group,
            Check::HandoffName,
        ),
        d(
            Kind::PersonName,
            Contact,
            0.7,
            "full name after a user's or customer's label",
            // A chat's or a ticket's `User: Mikko Keskitalo`, `Customer: Torben S. Kjeldsen`,
            // a ticket export's `Assignee: Tomás Ortega`, `Opened by: Ruta Jankauskiene`:
            // two capitalised words or more are a person's name, whoever the first name,
            // when the line, a sentence or prose goes on after them (not a field: `User:
            // Alice Domain: ACME`) and no word names a team or a company (`Owner: Network
            // Operations`, `Customer: Acme Corp`); one (`User: Alice`) or an account's
            // shape (`User: JDoe`) stays the user-name detector's, which comes after.
            &format!(
                r"(?i:\b(?:user|customer|client|caller|requester|requestor|reporter|contact|assignee|owner|agent|engineer|technician|assigned[ _]to|(?:opened|created|closed|resolved|reported)[ _]by|requested[ _]for))[ \t]*:[ \t]*(?P<v>{CAPITAL}{SMALL}+(?:[ \t](?:[A-Z]\.?[ \t])?{CAPITAL}(?:{SMALL}|['-]{CAPITAL}?)+){{1,2}})(?:[ \t]*(?:\r?\n|\\[rn]|[,;.)\x22'<]|(?m:$))|[ \t]+[a-z(])"
            ),
            Value::Group,
            Check::LabelledName,
        ),
        d(
            Kind::Phone,
            Contact,
            0.7,
            "telephone number (French national format)",
            // `05.53.18.69.64`, as French signatures write a number: ten digits in pairs
            // after a trunk zero. Before the IPv4 address, whose shape its first four pairs
            // also have: read as an address that goes on, the number would be refused.
            r"\b0[1-9](?:\.[0-9]{2}){4}\b",
            Value::Whole,
            Check::Phone,
        ),
        d(
            Kind::MacAddress,
            NetworkIdentifiers,
            0.9,
            "MAC address",
            r"\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}\b|\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\b",
            Value::Whole,
            Check::Mac,
        ),
        d(
            Kind::Ipv6,
            NetworkIdentifiers,
            0.9,
            "IPv6 address (parsed)",
            r"\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:\b[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6}|\B)::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,6})?(?:(?:\.[0-9]{1,3}){3})?",
            Value::Whole,
            Check::Ipv6,
        ),
        d(
            Kind::Ipv4,
            NetworkIdentifiers,
            0.9,
            "IPv4 address (parsed)",
            IPV4_PATTERN,
            Value::Whole,
            Check::Ipv4,
        ),
        d(
            Kind::PaymentCard,
            Financial,
            0.95,
            "payment card number (issuer prefix, Luhn)",
            r"\b[0-9](?:[ -]?[0-9]){12,18}\b",
            Value::Whole,
            Check::Card,
        ),
        d(
            Kind::PaymentCard,
            Financial,
            0.9,
            "payment card number after its label (Luhn)",
            // `card no 501803075628`, `my credit card number is 3591…`, `cc 6759…`: the
            // label says what it is, so twelve-digit Maestro numbers and issuers outside
            // the prefixes above are taken when the Luhn sum holds.
            r"(?i:\b(?:(?:credit|debit|payment|bank)[ \t]+)?(?:card|cc)(?:[ \t]*(?:number|no\.?|nr\.?|num|#))?)[ \t]*(?:is[ \t]+)?[:#=?]?[ \t]*(?P<v>[0-9](?:[ -]?[0-9]){11,18})\b",
            Value::Group,
            Check::LabelledCard,
        ),
        d(
            Kind::AccountNumber,
            AccountIdentifiers,
            0.8,
            "customer or account number after its label",
            // `Customer number: 4471-2291`, `customer_id=ACME-00912`, `"accountId":
            // "123456789012"`, `Contract no. C-2024-0117`, the Azure CLI's `"tenant":
            // "72f988bf-…"`: the number that finds the customer in the vendor's own
            // systems, which a partner does not need.
            r#"(?:(?i:\b(?:customer|client|account|acct|member|subscriber|contract|subscription|tenant)[ \t_-]*(?:no\.?|number|num|nr\.?|#|id))|"tenant)["']?(?:[ \t]*[:#=]|[ \t])[ \t]*["']?(?P<v>[A-Za-z0-9][A-Za-z0-9-]{3,38}[A-Za-z0-9])\b"#,
            Value::Group,
            Check::IdNumber,
        ),
        d(
            Kind::AccountNumber,
            AccountIdentifiers,
            0.9,
            "Azure subscription in a resource's identifier or the CLI's option",
            // Every resource's identifier starts with its subscription's
            // (`/subscriptions/0b1f6471-…/resourceGroups/rg-prod/providers/…`), and `az
            // account set --subscription 0b1f6471-…` names it: the customer's account
            // with the cloud.
            r"(?:/subscriptions/|--subscription[ \t=]+)(?P<v>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\b",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::AccountNumber,
            AccountIdentifiers,
            0.9,
            "Windows security identifier of a domain or its account",
            // `S-1-5-21-3623811015-3361044348-30300820-1013`: the domain's three numbers and
            // the account's; a well-known SID (`S-1-5-18`, `S-1-5-32-544`) names no one.
            r"\bS-1-5-21-(?P<v>[0-9]{1,10}-[0-9]{1,10}-[0-9]{1,10}(?:-[0-9]{1,10})?)\b",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::AccountNumber,
            AccountIdentifiers,
            0.9,
            "AWS account in an ARN",
            // `arn:aws:iam::123456789012:user/jdoe`: the twelve digits; the resource
            // after them is looked for on its own.
            r"\barn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?P<v>[0-9]{12})",
            Value::Group,
            Check::None,
        ),
        d(
            Kind::AccountNumber,
            AccountIdentifiers,
            0.9,
            "Twilio account SID",
            // `AC` and 32 hexadecimal digits: the account its API key or token belongs to,
            // in its REST paths (`/2010-04-01/Accounts/AC…/Messages.json`) and settings.
            r"\bAC[0-9a-f]{32}\b",
            Value::Whole,
            Check::None,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "IAM user or role session in an ARN",
            // `…:user/ops/jdoe`, `…:assumed-role/AdminRole/jdoe`: after an IAM or STS
            // ARN's account (the check).
            r"(?:\buser|\bassumed-role/[A-Za-z0-9+=,.@_-]+)/(?:[A-Za-z0-9+=,.@_-]+/)*(?P<v>[A-Za-z0-9+=,._-]+)\b",
            Value::Group,
            Check::IamUser,
        ),
        d(
            Kind::Iban,
            Financial,
            0.95,
            "IBAN (mod-97)",
            r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
            Value::Whole,
            Check::Iban,
        ),
        d(
            Kind::UsSsn,
            GovernmentId,
            0.85,
            "US social security number (issued ranges)",
            r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",
            Value::Whole,
            Check::Ssn,
        ),
        d(
            Kind::UkNino,
            GovernmentId,
            0.8,
            "UK national insurance number",
            r"\b[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]\b",
            Value::Whole,
            Check::Nino,
        ),
        d(
            Kind::NlBsn,
            GovernmentId,
            0.9,
            "Dutch citizen service number after its name (11-proof)",
            r"(?i:\b(?:bsn|burgerservicenummer)\b)[\s:#=.]*(?P<v>[0-9]{9})\b",
            Value::Group,
            Check::Bsn,
        ),
        d(
            Kind::CaSin,
            GovernmentId,
            0.9,
            "Canadian social insurance number after its name (Luhn)",
            r"(?i:\b(?:sin|social insurance(?: number)?)\b)[\s:#=.]*(?P<v>[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3})\b",
            Value::Group,
            Check::Sin,
        ),
        d(
            Kind::InAadhaar,
            GovernmentId,
            0.9,
            "Aadhaar number after its name (Verhoeff)",
            r"(?i:\baadhaar(?: (?:no|number))?\b)[\s:#=.]*(?P<v>[2-9][0-9]{3} ?[0-9]{4} ?[0-9]{4})\b",
            Value::Group,
            Check::Aadhaar,
        ),
        d(
            Kind::Passport,
            GovernmentId,
            0.85,
            "passport number after its label",
            // `Passport No: C01X00T47`, `passport_number=123456789`, `"passport": "…"`.
            r#"(?i:\bpassport(?:[ \t_-]*(?:no\.?|number|num|nr\.?|#|id))?)["']?[ \t]*[:#=][ \t]*["']?(?P<v>[A-Z0-9]{6,9})\b"#,
            Value::Group,
            Check::IdNumber,
        ),
        d(
            Kind::DriverLicense,
            GovernmentId,
            0.85,
            "driver's licence number after its label",
            // `Driver's license: D1234567`, `driving_licence_no = MORGA753116SM9IJ`.
            r#"(?i:\b(?:driver'?s?|driving)[ \t_-]*licen[cs]e(?:[ \t_-]*(?:no\.?|number|num|nr\.?|#|id))?)["']?[ \t]*[:#=][ \t]*["']?(?P<v>[A-Z0-9][A-Z0-9-]{4,18}[A-Z0-9])\b"#,
            Value::Group,
            Check::IdNumber,
        ),
        d(
            Kind::DateOfBirth,
            Contact,
            0.85,
            "date of birth after its label",
            // `Date of birth: 1984-03-12`, `DOB: 12/03/1984`, `"birthDate": "…"`, `born on
            // 12 March 1984`: a date alone is everywhere in logs, a person's birth date
            // identifies them.
            r#"(?i:\b(?:date[ \t]+of[ \t]+birth|birth[ _-]?date|d\.?o\.?b\.?|born(?:[ \t]+on)?))["']?[ \t]*[:=]?[ \t]*["']?(?P<v>[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{4}|[0-9]{2})|[0-9]{1,2}(?:st|nd|rd|th)?[ \t]+(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?[ \t]+[0-9]{4}|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?[ \t]+[0-9]{1,2}(?:st|nd|rd|th)?,?[ \t]+[0-9]{4})\b"#,
            Value::Group,
            Check::None,
        ),
        d(
            Kind::Phone,
            Contact,
            0.8,
            "telephone number before its label",
            // A signature's or an export's `8240084271 mobile`, `806.578.7598-Fax`, `+1 555
            // 0100 (cell)`: the label ends the line or the field, and says what the number
            // is as a label before it does. Before the shapes below, which would take some
            // of these numbers without their label and refuse them.
            &format!(
                r#"(?P<v>(?:\+(?:\([0-9]{{1,5}}\)[ .-]?)?|\B\([0-9]{{1,5}}\)[ .-]?|\b){LABELLED_PHONE})(?:[ \t]*-[ \t]*|[ \t]+)\(?(?i:office|fax|mobile|cell(?:phone)?)\)?[ \t]*(?:\r?\n|\\|[,;.)\x22'<]|(?m:$))"#
            ),
            Value::Group,
            Check::LabelledPhone,
        ),
        d(
            Kind::Phone,
            Contact,
            0.7,
            "telephone number",
            // Only shapes the check can accept, so dates, versions and addresses (most of
            // a log's numbers) are no candidates at all: with a country code or an area
            // code in brackets, any separators; otherwise starting a word, with at least
            // one space or hyphen, and a four-digit first group (a year) not followed by
            // a two-digit one; or a national number with its trunk zero and long groups
            // (`06-82237745`, `07700 900 123`, `0380 7558505`).
            r"(?:(?:\+[0-9]{1,3}[ .-]?(?:\([0-9]{1,5}\)[ .-]?)?|\([0-9]{1,5}\)[ .-]?)(?:[0-9]{2,4}(?:[ .-][0-9]{2,5}){1,4}|[0-9]{5,12})|\b(?:[0-9]{2,3}(?:\.[0-9]{2,5}){0,3}[ -][0-9]{2,5}(?:[ .-][0-9]{2,5}){0,3}|[0-9]{4}\.[0-9]{2,5}(?:\.[0-9]{2,5}){0,2}[ -][0-9]{2,5}(?:[ .-][0-9]{2,5}){0,3}|[0-9]{4}[ -][0-9]{3,5}(?:[ .-][0-9]{2,5}){0,3}|0[0-9]{1,4}(?:[ -][0-9]{3,8}){1,2}))(?:(?:x|ext\.?)[0-9]{1,5})?\b",
            Value::Whole,
            Check::Phone,
        ),
        d(
            Kind::Phone,
            Contact,
            0.8,
            "telephone number after its label",
            // `Phone: 96 771394`, `Mobile: 07700070518`, `"fax": "04.94.38.88.56"`, `call
            // me on 0496 17 70 66`, `you can call 61 60 34`, `not answering at 0477 82 93
            // 97`: the label says what the number is, so a national grouping the shapes
            // above leave out (bare digits, pairs, dots) is taken here.
            &format!(
                r#"(?:(?i:\b(?:tele?phone|phone|tel|mobile|cell(?:phone)?|fax|desk|sms|whatsapp)(?:[ _]?(?:number|no\.?|nr\.?|#))?)\x22?[ \t]*[:=.]?[ \t]*(?:\r?\n[ \t]*|(?:\\r)?\\n)?\x22?|(?i:\b(?:(?:call|reach|text|ring)[ \t]+(?:me|us)[ \t]+(?:on|at)|call|answering[ \t]+(?:on|at)))[ \t]+)(?P<v>\+?(?:\([0-9]{{1,5}}\)[ .-]?)?{LABELLED_PHONE})\b"#
            ),
            Value::Group,
            Check::LabelledPhone,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "host's own name after its label",
            // Windows' `ipconfig /all` and `systeminfo` (`Host Name . . . : WS-JDOE-0142`,
            // `Host Name:  WS-JDOE-0142`, `Logon Server: \\\\DC01`), an event's
            // `Workstation Name:`, `hostnamectl`'s `Static hostname:`, `HOSTNAME=db03`: a
            // host named by its one label, which no dotted name gives (a full name after
            // the label is the host-name detector's). A `:` is a label's when a space or a
            // quote follows it (`user:pass@hostname:port` is no label). Before the user-name
            // detectors, which would take `Logon Server` for a logon's user.
            &format!(
                r#"\b(?:{})["']?(?:[ \t.]*=[ \t]*["']?|[ \t.]*:(?:[ \t]+["']?|["']))(?:\\\\)?(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)(?:[^.A-Za-z0-9_$-]|\z)"#,
                HOST_LABELS.join("|")
            ),
            Value::Group,
            Check::HostLabel,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "server of a UNC path",
            // A share's `\\\\FS01\\home$\\jdoe`: the server's one label, before its share.
            r#"(?:^|[\s"'=:(])\\\\(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)\\[A-Za-z0-9$]"#,
            Value::Group,
            Check::HostLabel,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "server of a UNC path named alone",
            // The server alone (`psexec \\\\web-01 -u …`, `net view \\\\FS01`); not after
            // a drive's `:`, where a string's escaped path goes on (`"C:\\\\TEMP"`), nor
            // after a quote, where a string's escaped backslash stands before its text
            // (`"\\\\x7f"`, `"\\\\u005C"`).
            r#"(?:^|[\s=(])\\\\(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)(?:[ \t"']|(?m:$))"#,
            Value::Group,
            Check::HostLabel,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "server of a share written with slashes",
            // A CIFS mount's and smbclient's `//fs01/share`, as mount, fstab and df show
            // it: with a digit or a hyphen, as a remote path's host (`// TODO/…` is a
            // comment).
            r#"(?:^|[\s"'=(])//(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)/[A-Za-z0-9$_]"#,
            Value::Group,
            Check::PathHost,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "server of a connection string named by its one label",
            // ADO.NET's and ODBC's `Server=sql-prod-02;`, `Data Source=SQLPROD02\\INST1`,
            // `Server=tcp:sql-02,1433`, Npgsql's `Host=pg-main;`: capitalised, right before
            // its `=`, and ended by the next setting's `;` (or the string's end). A dotted
            // name is the host-name detector's. Code's `host = self.host` and prose cost
            // the automaton no states.
            r#"\b(?:Server|SERVER|Data Source|Host|HOST)=(?:tcp:)?(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)(?:[;,\\"']|\r?(?m:$))"#,
            Value::Group,
            Check::HostLabel,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "server of a PostgreSQL connection string named by its one label",
            // libpq's `host=pg-main port=5432 dbname=app`: another of its settings after it.
            r"\bhost=(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)[ \t]+(?:port|dbname|user|password|sslmode|connect_timeout)=",
            Value::Group,
            Check::HostLabel,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "node a Kubernetes event assigned a pod to",
            // `Successfully assigned prod/checkout-7d9f8b6c5-x2kqp to worker-node-06`.
            r"\bSuccessfully assigned [^\s/]+/[^\s]+ to (?P<v>[A-Za-z0-9][A-Za-z0-9-]+)(?:[^.A-Za-z0-9_-]|\z)",
            Value::Group,
            Check::HostLabel,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "host named by its one label before a remote path",
            // An NFS export as mount, fstab and df show it (`nfs01:/export/home on /home
            // type nfs`), a copy's target (`scp app.log web-01:/tmp/`, `rsync -a
            // backup-02:/srv/ .`). A URL's `scheme://` is none.
            r"\b(?P<v>[A-Za-z0-9][A-Za-z0-9-]+):/[A-Za-z0-9_.~-]",
            Value::Group,
            Check::PathHost,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "account of a PostgreSQL role or a RADIUS login",
            // PostgreSQL's `FATAL:  role "hpatel" does not exist`, `permission denied for
            // role "billing"`; FreeRADIUS' `Login OK: [mgarcia] (from client …)` and
            // `Login incorrect (…): [jdoe]`. Before the user name in context, which would
            // take `OK` after `Login` first.
            r#"(?:\brole[ \t]+"|\bLogin (?:OK|incorrect)(?:[ \t]+\([^)\n]{0,200}\))?:[ \t]+\[)(?P<v>[A-Za-z_][A-Za-z0-9._@-]*)["\]/]"#,
            Value::Group,
            Check::Username,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.75,
            "user name in context",
            // `login as alice`, PuTTY's `login as: alice`, `logged in as alice`. "account"
            // names a user only as a field (`account=jdoe`, Windows' `Account
            // Name: jdoe`); in prose ("my account stays active") it does not. An
            // environment file's `DB_USER=app`, `SPRING_DATASOURCE_USERNAME=svc` (no space
            // around `=`: code's `LOG_USER: c_int`, `PEM_USER = x` are none); JSON escaped
            // within JSON (a HAR file's `\"username\":\"jdoe\"`). The mail servers' and
            // the audit log's own fields: Dovecot's `user=<jdoe>`, Postfix's
            // `sasl_username=jdoe`, auditd's `acct="jdoe"` and, in its enriched lines,
            // `AUID="jdoe"`, `OUID="jdoe"`.
            r#"(?:(?i:\b(?:log(?:in|on|ged in)|signed in)[ \t]+as\b)[ \t]*:?[ \t]*|(?i:\b(?:account(?:[ _]?name)?|user[ _]?id|acct)\b)(?:\\?["'])?[ \t]*[=:][ \t]*|\b(?:A|O|E|S|FS)UID="|(?i:\b(?:for user|(?:sasl_)?username|user|login|uid|logon)\b)[ \t]*(?:(?:\\?["'])?[ \t]*[=:][ \t]*)?|(?:[A-Z0-9]_(?:USER(?:NAME)?|LOGIN)|\bPGUSER)["']?=)(?:\\?["']|<)?(?P<v>[A-Za-z_][A-Za-z0-9._-]+)\b"#,
            Value::After(b" \t=:\"'<"),
            Check::Username,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "user name in an sshd, sudo or cron log line",
            // The daemons' own formats, which name the user without the word "user":
            // `Accepted publickey for alice from`, `sudo:   alice : TTY=pts/0`,
            // `CRON[412]: (alice) CMD (…)`; with a process id where journald or RHEL's
            // syslog write it (`sudo[1240]:`), and RHEL's cron as `CROND[5000]:`.
            r"(?:\b(?:Accepted|Failed) (?:password|publickey|keyboard-interactive/pam|hostbased|gssapi-with-mic|none) for (?:invalid user )?|\bsudo(?:\[[0-9]+\])?:[ \t]+|\bCROND?\[[0-9]+\]:[ \t]+\()(?P<v>[A-Za-z_][A-Za-z0-9._-]*)(?:[ \t]+from\b|[ \t]+:[ \t]|\)[ \t]+CMD\b)",
            Value::Group,
            Check::Username,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.8,
            "Windows account as DOMAIN\\user",
            // An event's, an IIS log's or `whoami`'s `CORP\\zsmith`, `ACME-BANK\\svc_sql01`
            // (in JSON `CORP\\\\zsmith`): a NetBIOS domain in capitals, not a path's folder
            // (after a separator) and not the system's own (`NT AUTHORITY\\SYSTEM`,
            // `BUILTIN\\…`, `HKLM\\…`).
            r#"\b[A-Z][A-Z0-9-]{1,14}\\{1,2}(?P<v>[A-Za-z][A-Za-z0-9._-]*)(?:[^\\A-Za-z0-9._-]|\z)"#,
            Value::Group,
            Check::DomainUser,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "user in a web server's access log (Common Log Format)",
            // Apache's and nginx's `10.0.0.1 - jdoe [04/Dec/2026:10:00:00 +0000] "GET …`:
            // the authenticated user between the client's identity (`-`: no server asks
            // for it any more) and the date. From the `-`, so that the client's address
            // before it is still found.
            r" - (?P<v>[A-Za-z_][A-Za-z0-9._-]*) \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:",
            Value::Group,
            Check::Username,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "account of a login session as last, who and w list it",
            // `jdoe     pts/0        10.20.31.7       Mon Nov 30 09:12   still logged in`:
            // the line's first word before its terminal.
            r"(?m:^)(?P<v>[A-Za-z_][A-Za-z0-9._-]*)[ \t]+(?:pts/[0-9]+|tty[0-9]+|:[0-9]+)[ \t]",
            Value::Group,
            Check::Username,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "host of a login session as last lists it",
            // `mkowalski pts/1  vpn-gw-03  Mon Nov 30 08:55 - 09:40  (00:45)`: the column
            // after the terminal, before the day (an address there is the address's).
            r"[ \t](?:pts/[0-9]+|tty[0-9]+)[ \t]+(?P<v>[A-Za-z0-9][A-Za-z0-9-]+)[ \t]+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[ \t]",
            Value::Group,
            Check::HostLabel,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "account of a Windows event's TargetUserName or SubjectUserName",
            // An event exported as XML (`<Data Name="TargetUserName">jdoe</Data>`) or
            // as text (`TargetUserName: jdoe`).
            r#"\b(?:Target|Subject)UserName(?:["']>|["']?[ \t]*[:=][ \t]*["']?)(?P<v>[A-Za-z_][A-Za-z0-9._-]*)(?:[\s"'<]|\z)"#,
            Value::Group,
            Check::Username,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.8,
            "account after a ticket's owner or assignee field",
            // A ticket export's or a tracker's `Owner: rgupta`, `"assignee": "jdoe"`,
            // `Reporter: mkowalski`: one word in small letters, as accounts are written (a
            // capitalised word names a team or a state: `Owner: Support`, `Assignee:
            // Unassigned`), ended by a space, a line's end or a quote: code's `owner: i32,`
            // and `owner=owner,` go on with a separator.
            r#"(?i:\b(?:owner|assignee|requester|requestor|reporter|submitter|assigned[ _]to|(?:opened|created|reported)[ _]by))["']?[ \t]*[=:][ \t]*["']?(?P<v>[a-z_][a-z0-9._-]{1,31})(?:[\s"']|\z)"#,
            Value::Group,
            Check::FieldUser,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "account in a pg_hba.conf line",
            // `host  app  app_user  10.20.0.0/16  scram-sha-256`, `local all jdoe peer`: the
            // third column, on a line that ends with an authentication method.
            r"(?m:^)(?:host(?:ssl|nossl|gssenc|nogssenc)?|local)[ \t]+[^\s]+[ \t]+(?P<v>[A-Za-z_][A-Za-z0-9_.-]*)(?:[ \t]+[^\s]+){0,2}[ \t]+(?:trust|reject|md5|password|scram-sha-256|gss|sspi|ident|peer|pam|ldap|radius|cert)\b",
            Value::Group,
            Check::Username,
        ),
        triggered(
            r#"['"\x60]@['"\x60]"#,
            d(
                Kind::Username,
                AccountIdentifiers,
                0.85,
                "account of a MySQL or MariaDB grant",
                // `GRANT ALL ON app.* TO 'jdoe'@'localhost'`, `DROP USER`, `SHOW GRANTS FOR`, a
                // dump's `DEFINER=`: an account quoted (in single, double or back quotes), then
                // `@`, then its host quoted. After its keyword: from every quote, each string
                // of source code would cost the automaton states.
                r#"(?i:\b(?:to|user|for|from|definer[ \t]*=))[ \t]*['"\x60](?P<v>[A-Za-z_][A-Za-z0-9._$-]*)['"\x60]@['"\x60]"#,
                Value::Group,
                Check::Username,
            ),
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "account in an /etc/passwd or /etc/shadow line",
            // A person's or a service's account: `jdoe:x:1001:1001:John Doe:/home/jdoe:…`
            // (a user id of 1000 or more; the system's own accounts have less), or a
            // shadow line with a password hash (`svc_backup:$6$…`; locked system accounts
            // have `*` or `!`).
            r"(?m:^)(?P<v>[A-Za-z_][A-Za-z0-9_.-]*\$?)(?::x:[1-9][0-9]{3,9}:[0-9]+:|:\$[0-9a-z]+\$)",
            Value::Group,
            Check::Username,
        ),
        triggered(
            r"/[0-9]{1,3}(?:\.[0-9]{1,3}){3}:[0-9]{1,5}\b",
            d(
                Kind::Username,
                AccountIdentifiers,
                0.85,
                "account of an OpenVPN client before its address",
                // OpenVPN's log names each client by its certificate's common name and its
                // real address: `jdoe/203.0.113.50:51234 MULTI: Learn: …`.
                r"\b(?P<v>[A-Za-z_][A-Za-z0-9._@-]*)/[0-9]{1,3}(?:\.[0-9]{1,3}){3}:[0-9]{1,5}\b",
                Value::Group,
                Check::Username,
            ),
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "account of a sudoers rule",
            // `/etc/sudoers`' and `sudo -l`'s `jdoe ALL=(ALL) NOPASSWD: ALL`: the line's
            // first word before the hosts it may run on (`%wheel`, a group, is none).
            r"(?m:^)(?P<v>[A-Za-z_][A-Za-z0-9._-]*)[ \t]+ALL[ \t]*=",
            Value::Group,
            Check::Username,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.8,
            "common name in an LDAP distinguished name",
            // `CN=svc_sssd,OU=Service Accounts,DC=corp,…`, `cn=John Doe,ou=people,dc=…`:
            // an account or a person of a directory rooted in a domain (a certificate's
            // subject, `CN=…,O=…,C=…`, is not). A name with a dot is a host's, which the
            // host-name detector takes.
            r"(?i:\bCN=)(?P<v>[^,=+.\n\\\x22<>;]+),[ \t]*(?:(?i:CN|OU)=[^,=\n]+,[ \t]*)*(?i:DC)=",
            Value::Group,
            Check::DirectoryName,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "home directory",
            r"/(?:home|Users)/(?P<v>[A-Za-z_][A-Za-z0-9._-]*)\b",
            Value::After(b"/"),
            Check::Username,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "Windows profile directory",
            r"(?i:[A-Z]:\\+Users\\+)(?P<v>[^\\\s\x22'/:*?<>|]+)",
            Value::After(b"\\"),
            Check::Username,
        ),
        d(
            Kind::Username,
            AccountIdentifiers,
            0.85,
            "home folder on a share",
            // `\\fs01\users\jdoe\Documents`, `\\nas\home\jdoe`, a hidden share's
            // `\\FS-02\home$\jdoe`: the share's server is found first, then its folder
            // of users.
            r#"\\+(?i:users|home|homes|profiles)\$?\\+(?P<v>[A-Za-z_][A-Za-z0-9._-]*)(?:\\|[\s"']|\z)"#,
            Value::Group,
            Check::Username,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.85,
            "domain in an LDAP distinguished name's DC= parts",
            // sssd's, AD's and ldapsearch's `CN=svc,OU=Service Accounts,DC=corp,DC=acme,DC=com`
            // spell the directory's domain label by label; each label is replaced as the
            // dotted name's would be. The value starts after the first `DC=`.
            r"(?i:\bDC=)(?P<v>[A-Za-z0-9][A-Za-z0-9-]*(?:[ \t]*,[ \t]*(?i:DC)=[A-Za-z0-9][A-Za-z0-9-]*)+)\b",
            Value::Group,
            Check::DnDomain,
        ),
        d(
            Kind::Hostname,
            Hostnames,
            0.8,
            "host or domain name (public-suffix aware)",
            HOSTNAME_PATTERN,
            Value::Whole,
            Check::Hostname,
        ),
        d(
            Kind::PersonName,
            Contact,
            0.6,
            "common first name, alone or with a surname",
            // A common first name, a middle initial, and up to two capitalised words; the
            // check cuts it at a street's or company's word and keeps a first name alone
            // only where it is a word of its own and not an everyday one. Last, so that
            // any other detector starting at the same word wins.
            &format!(
                r"\b(?:{first_names})(?:(?:[ \t][A-Z]\.?)?(?:[ \t]{CAPITAL}(?:{SMALL}|['-])+){{1,2}})?\b"
            ),
            Value::Whole,
            Check::KnownName,
        ),
        triggered(
            &format!(r"[ \t][A-Z]\.?[ \t]{surname}\b"),
            d(
                Kind::PersonName,
                Contact,
                0.7,
                "name with a middle initial",
                // `Junio C Hamano`, `Kaveh R. Ghazi`: a first name not on the list (a listed
                // one is the detector's above, which allows an initial), since few other things
                // are written so; the check turns away `Updating A Timestamp` and `System V
                // Application`.
                &format!(r"\b[A-Z]{SMALL}+(?:-{CAPITAL}{SMALL}+)?[ \t][A-Z]\.?[ \t]{surname}\b"),
                Value::Whole,
                Check::InitialName,
            ),
        ),
    ]
}

/// Every detector compiled into one automaton, with per-detector extraction of the value.
pub struct Detectors {
    detectors: Vec<Detector>,
    /// Every detector's pattern in one automaton (see [`Detectors::search`]).
    all: Union,
    /// Per detector, the shape its match's start is read back by, if any.
    shapes: Vec<Option<Shape>>,
    /// The host-name pattern alone, for the learning pass.
    hosts: MultiRegex,
    /// The detectors of hosts named by one label (`Host Name: WS-0142`, `\\\\DC01\\x`),
    /// for the learning pass, where [`HOST_LABELS`] or a share's `\\\\` is.
    host_labels: Scoped,
    /// The user-name detectors, for the learning pass, where one of the words every
    /// user-name pattern holds is, in their usual letter cases ([`USER_WORDS`]).
    users: Scoped,
    /// The detectors of accounts at a prompt, in an SSH key or as a command's option, for
    /// the learning pass, where one of [`PROMPT_WORDS`] or [`COMMAND_NAMES`] is: apart from [`Self::users`],
    /// so that each searcher's words stay few enough for the fastest packed search.
    commands: Scoped,
    /// A URL's host named by one label after its userinfo's `@` ([`URL_HOST`]), read where a
    /// URL's password ends.
    url_host_tail: MultiRegex,
    values: Vec<Option<ValueRegex>>,
    /// The person-name detectors alone, for the learning pass, built on its first use
    /// (a redactor that learns nothing never builds them).
    names: std::sync::OnceLock<Option<Box<Detectors>>>,
    /// What the built-in detectors leave as it is: documentation's names, and the values
    /// and domains the policy allows.
    allowed: Allowed,
    /// Whether [`Detectors::find`] reads tables' columns too (see [`crate::table`]): not
    /// for the person-name detectors alone, which the learning pass runs on a text's
    /// windows, and which learns the names of tables itself.
    tables: bool,
}

/// The most a lazy DFA's cache of states may grow to (see [`compile`]).
const LAZY_DFA_BYTES: usize = 32 << 20;
/// The largest automaton a policy's pattern may compile to (`(?:[a-z]{500}){500}`): past
/// it the policy is refused, not run out of memory.
const NFA_BYTES: usize = 10 << 20;

/// Patterns read byte-wise: `.` and classes match any byte, not only UTF-8, and `\b` is
/// ASCII's.
fn byte_syntax() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

/// Patterns compiled byte-wise (any byte, not only UTF-8), with room for the lazy DFA's
/// states: prose and source code (a capitalised or dotted word every few bytes, each a
/// possible name or host) need more of them than the default 2 MiB holds, and a cache
/// that keeps filling makes the search start over, then give up for a far slower engine.
/// The cache grows only as far as a text needs it.
fn compile(patterns: &[&str]) -> Result<MultiRegex, String> {
    build(patterns, true)
}

/// A pattern compiled as [`compile`] does, for searches anchored where a match is already
/// known (a detector's value within its match): no literal prefilter would ever run there,
/// so none is looked for. Extracting the literals of the first-name list's thousands of
/// names cost more than half of all the detectors' construction.
fn compile_anchored(pattern: &str) -> Result<MultiRegex, String> {
    build(&[pattern], false)
}

fn build(patterns: &[&str], prefilter: bool) -> Result<MultiRegex, String> {
    MultiRegex::builder()
        .syntax(byte_syntax())
        .configure(
            MultiRegex::config()
                .utf8_empty(false)
                .nfa_size_limit(Some(NFA_BYTES))
                .hybrid_cache_capacity(LAZY_DFA_BYTES)
                .auto_prefilter(prefilter),
        )
        .build_many(patterns)
        .map_err(|e| e.to_string())
}

/// A thread's caches for [`Union`], made on its first search and kept for its later ones
/// (states built for one chunk serve the next). The PikeVM's is made only when a lazy DFA
/// first gives up, which most runs never see: for the union's automaton it is large
/// enough that making it on every thread's first search cost 2 % of a 50 MB run.
struct UnionCache {
    halves: hybrid::regex::Cache,
    pikevm: Option<pikevm::Cache>,
}

impl UnionCache {
    fn pikevm(&mut self, vm: &pikevm::PikeVM) -> &mut pikevm::Cache {
        self.pikevm.get_or_insert_with(|| vm.create_cache())
    }
}

type UnionCaches = regex_automata::util::pool::Pool<
    UnionCache,
    Box<dyn Fn() -> UnionCache + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>,
>;

/// The union of every detector's pattern, compiled as [`compile`] does, as the
/// multi-pattern regex would run it but with its halves in our hands: a forward lazy DFA
/// that finds where the leftmost-first match ends, a reverse one (reporting every match,
/// so that its last is the leftmost start) that finds where it starts, and the PikeVM for
/// when a lazy DFA gives up (its cache cleared too often for too little progress).
struct Union {
    halves: std::sync::Arc<hybrid::regex::Regex>,
    pikevm: std::sync::Arc<pikevm::PikeVM>,
    caches: UnionCaches,
}

impl Union {
    fn new(patterns: &[&str]) -> Result<Self, String> {
        use regex_automata::nfa::thompson::{self, WhichCaptures};
        let hirs = syntax::parse_many_with(patterns, &byte_syntax()).map_err(|e| e.to_string())?;
        let compile = |config: thompson::Config| {
            thompson::Compiler::new()
                .configure(config.utf8(false).nfa_size_limit(Some(NFA_BYTES)))
                .build_many_from_hir(&hirs)
                .map_err(|e| e.to_string())
        };
        let nfa = compile(thompson::Config::new().which_captures(WhichCaptures::Implicit))?;
        let reverse_nfa = compile(
            thompson::Config::new()
                .reverse(true)
                .which_captures(WhichCaptures::None),
        )?;
        let config = hybrid::dfa::Config::new()
            .cache_capacity(LAZY_DFA_BYTES)
            .minimum_cache_clear_count(Some(3))
            .minimum_bytes_per_state(Some(10));
        let forward = hybrid::dfa::Builder::new()
            .configure(config.clone())
            .build_from_nfa(nfa.clone())
            .map_err(|e| e.to_string())?;
        let reverse = hybrid::dfa::Builder::new()
            .configure(
                config
                    .match_kind(regex_automata::MatchKind::All)
                    .specialize_start_states(false)
                    .starts_for_each_pattern(true),
            )
            .build_from_nfa(reverse_nfa)
            .map_err(|e| e.to_string())?;
        let halves =
            std::sync::Arc::new(hybrid::regex::Builder::new().build_from_dfas(forward, reverse));
        let pikevm =
            std::sync::Arc::new(pikevm::PikeVM::new_from_nfa(nfa).map_err(|e| e.to_string())?);
        let h = halves.clone();
        Ok(Self {
            halves,
            pikevm,
            caches: UnionCaches::new(Box::new(move || UnionCache {
                halves: h.create_cache(),
                pikevm: None,
            })),
        })
    }
}

/// A detector's own pattern, to pick its value (the group named `v`) out of a match.
/// Cheap to clone: the compiled automata are shared.
#[derive(Clone)]
struct ValueRegex {
    regex: MultiRegex,
    group: usize,
    /// The pattern cut around its value, where the group stands at its top level.
    parts: Option<ValueParts>,
}

impl ValueRegex {
    fn new(pattern: &str) -> Result<Self, String> {
        let regex = compile_anchored(pattern)?;
        let group = regex
            .group_info()
            .to_index(regex_automata::PatternID::ZERO, "v")
            .ok_or("no group named v")?;
        let parts = match split_at_value(pattern) {
            Some((context, value, rest)) => {
                let part = |p: &str| (!p.is_empty()).then(|| compile_anchored(p)).transpose();
                Some(ValueParts {
                    context: part(context)?,
                    value: compile_anchored(value)?,
                    rest: part(rest)?,
                })
            }
            None => None,
        };
        Ok(Self {
            regex,
            group,
            parts,
        })
    }

    /// The value within `matched`, a whole match of the pattern in `text`: from its parts
    /// where they answer, else by the capture pass (a backtracking search over the match,
    /// several times as costly as the parts' automata). Both read the match within the
    /// whole text, so that a word boundary at either end (`\\b` after `abc-` in `abc-def`)
    /// is judged as the search judged it.
    fn value_in(
        &self,
        text: &[u8],
        matched: std::ops::Range<usize>,
        caps: &mut Captures,
    ) -> Option<(usize, usize)> {
        if let Some(value) = self
            .parts
            .as_ref()
            .and_then(|p| p.value_in(text, matched.clone()))
        {
            return Some(value);
        }
        let input = Input::new(text).range(matched).anchored(Anchored::Yes);
        self.regex.search_captures(&input, caps);
        let v = caps.get_group(self.group)?;
        Some((v.start, v.end))
    }
}

/// A pattern `C(?P<v>V)R` as three automata. Its leftmost-first match takes the first
/// (preferred) way through C for which V and R can follow, then V's, then R's; so when C's
/// own first match, then V's after it, then R's after that end exactly where the whole
/// match ends, that is the way the pattern took, and V's match is the group's. Otherwise
/// (another way through C was needed) the capture pass decides.
#[derive(Clone)]
struct ValueParts {
    context: Option<MultiRegex>,
    value: MultiRegex,
    rest: Option<MultiRegex>,
}

impl ValueParts {
    fn value_in(&self, text: &[u8], matched: std::ops::Range<usize>) -> Option<(usize, usize)> {
        let end_of = |regex: &MultiRegex, from: usize| {
            let input = Input::new(text)
                .range(from..matched.end)
                .anchored(Anchored::Yes);
            regex.search_half(&input).map(|h| h.offset())
        };
        let start = match &self.context {
            Some(context) => end_of(context, matched.start)?,
            None => matched.start,
        };
        let end = end_of(&self.value, start)?;
        let rest_end = match &self.rest {
            Some(rest) => end_of(rest, end)?,
            None => end,
        };
        (rest_end == matched.end).then_some((start, end))
    }
}

/// `pattern` cut before, within and after its group `v`, where that group is one of the
/// pattern's top-level pieces: not under a repetition or an alternation, and with no
/// flags set for the rest of the pattern (`(?i)`) that a part alone would lose.
fn split_at_value(pattern: &str) -> Option<(&str, &str, &str)> {
    use regex_syntax::ast::{Ast, GroupKind};
    let ast = regex_syntax::ast::parse::Parser::new()
        .parse(pattern)
        .ok()?;
    let pieces = match &ast {
        Ast::Concat(concat) => concat.asts.as_slice(),
        one => std::slice::from_ref(one),
    };
    if pieces.iter().any(|piece| matches!(piece, Ast::Flags(_))) {
        return None;
    }
    let group = pieces.iter().find_map(|piece| match piece {
        Ast::Group(group) => match &group.kind {
            GroupKind::CaptureName { name, .. } if name.name == "v" => Some(group),
            _ => None,
        },
        _ => None,
    })?;
    let (outer, inner) = (group.span, group.ast.span());
    Some((
        &pattern[..outer.start.offset],
        &pattern[inner.start.offset..inner.end.offset],
        &pattern[outer.end.offset..],
    ))
}

#[derive(Debug, thiserror::Error)]
#[error("pattern {name:?} does not compile: {message}")]
pub struct PatternError {
    pub name: String,
    pub message: String,
}

/// Some of the detectors, as the learning pass runs them: their patterns compiled alone,
/// only where one of the words they hold is.
struct Scoped {
    /// Each pattern's detector.
    detectors: Vec<usize>,
    regex: MultiRegex,
    /// Found many bytes at a time.
    words: aho_corasick::AhoCorasick,
}

impl Scoped {
    fn of<'w>(
        detectors: &[Detector],
        which: impl Fn(&Detector) -> bool,
        words: impl IntoIterator<Item = &'w &'w str>,
        name: &str,
    ) -> Result<Self, PatternError> {
        let error = |message: String| PatternError {
            name: name.into(),
            message,
        };
        let indexes: Vec<usize> = (0..detectors.len())
            .filter(|&i| which(&detectors[i]))
            .collect();
        // Whole patterns: searched from their words, anchored, they need no trigger.
        let patterns: Vec<&str> = indexes
            .iter()
            .map(|&i| detectors[i].pattern.as_str())
            .collect();
        let regex = compile(&patterns).map_err(error)?;
        // Leftmost-first, which the packed (SIMD) searchers need.
        let words = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(words)
            .map_err(|e| error(e.to_string()))?;
        Ok(Self {
            detectors: indexes,
            regex,
            words,
        })
    }
}

impl Detectors {
    /// The built-in detectors plus the user's keywords and patterns.
    pub fn new(keywords: &[String], custom: &[CustomPattern]) -> Result<Self, PatternError> {
        let mut detectors = builtin();
        // A user's own terms come first: they know best what is sensitive.
        let mut own = Vec::new();
        for (i, keyword) in keywords.iter().enumerate() {
            own.push(Detector {
                kind: Kind::Custom(i),
                category: Category::AccountIdentifiers,
                confidence: 1.0,
                reason: "keyword from the policy",
                pattern: format!(r"(?i:\b{}\b)", regex_syntax_escape(keyword)),
                trigger: None,
                value: Value::Whole,
                check: Check::None,
            });
        }
        for (i, pattern) in custom.iter().enumerate() {
            own.push(Detector {
                kind: Kind::Custom(keywords.len() + i),
                category: pattern.category,
                confidence: 1.0,
                reason: "pattern from the policy",
                pattern: pattern.regex.clone(),
                trigger: None,
                value: if pattern.regex.contains("(?P<v>") {
                    Value::Group
                } else {
                    Value::Whole
                },
                check: Check::None,
            });
        }
        own.append(&mut detectors);
        Self::of(own, None)
    }

    /// The full names (two words or more) in `text`, found by the person-name detectors
    /// alone, in order: what the learning pass needs.
    ///
    /// Every such name holds a small letter, a space or tab, then a capital (`a R` of
    /// `Priya Raman`), which most lines of a log do not: the detectors run only on the
    /// lines around one (with the line before, for a signature's `Thanks,`), so that
    /// learning names costs logs a quick look at their spaces.
    pub fn full_names(&self, text: &[u8]) -> Vec<Finding> {
        let mut windows = name_windows(text).peekable();
        // Built for the first window: a bundle of logs alone may never need them.
        if windows.peek().is_none() {
            return Vec::new();
        }
        let names = self.names.get_or_init(|| {
            let names = builtin()
                .into_iter()
                .filter(|d| d.kind == Kind::PersonName)
                .collect();
            // The same patterns compiled in the whole union: they compile alone too, and
            // their values are picked out by this one's automata.
            Self::of(names, Some(self)).ok().map(Box::new)
        });
        let Some(names) = names.as_deref() else {
            return Vec::new();
        };
        windows
            .flat_map(|window| {
                names
                    .find(&text[window.clone()])
                    .into_iter()
                    .map(move |f| Finding {
                        start: window.start + f.start,
                        end: window.start + f.end,
                        ..f
                    })
            })
            .filter(|f| {
                text[f.start..f.end]
                    .iter()
                    .any(|b| *b == b' ' || *b == b'\t')
            })
            .collect()
    }

    fn of(detectors: Vec<Detector>, sharing: Option<&Detectors>) -> Result<Self, PatternError> {
        let patterns: Vec<&str> = detectors.iter().map(Detector::searched).collect();
        let all = Union::new(&patterns).map_err(|message| PatternError {
            name: "(all)".into(),
            message,
        })?;
        let hosts = match sharing {
            Some(shared) => shared.hosts.clone(),
            None => compile(&[HOSTNAME_PATTERN]).map_err(|message| PatternError {
                name: "hostname".into(),
                message,
            })?,
        };
        let host_labels = Scoped::of(
            &detectors,
            |d| d.check == Check::HostLabel,
            HOST_LABELS.iter().chain(UNC_STARTS),
            "hostname",
        )?;
        let command = |d: &Detector| matches!(d.check, Check::UserAtHost | Check::CommandUser);
        let users = Scoped::of(
            &detectors,
            |d| d.kind == Kind::Username && !command(d),
            USER_WORDS,
            "username",
        )?;
        let url_host_tail =
            compile_anchored(&format!("@{URL_HOST}")).map_err(|message| PatternError {
                name: "hostname".into(),
                message,
            })?;
        let commands = Scoped::of(
            &detectors,
            command,
            PROMPT_WORDS.iter().chain(COMMAND_NAMES),
            "username",
        )?;
        let values = detectors
            .iter()
            .map(|d| {
                let error = |message: String| PatternError {
                    name: d.kind.name().into(),
                    message,
                };
                // A detector `sharing` has too (the learning pass's names) shares its regex.
                let shared = || {
                    let shared = sharing?;
                    let i = shared
                        .detectors
                        .iter()
                        .position(|s| s.pattern == d.pattern)?;
                    shared.values[i].clone()
                };
                // A whole match read back from its trigger is read as the group it is.
                let pattern = match d.value {
                    Value::Group => d.pattern.clone(),
                    _ => format!("(?P<v>{})", d.pattern),
                };
                (d.value == Value::Group || d.trigger.is_some())
                    .then(|| shared().map_or_else(|| ValueRegex::new(&pattern).map_err(error), Ok))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        let shapes = detectors.iter().map(|d| Shape::of(&d.pattern)).collect();
        let allowed = sharing.map(|s| s.allowed.clone()).unwrap_or_default();
        Ok(Self {
            detectors,
            all,
            shapes,
            hosts,
            host_labels,
            users,
            commands,
            url_host_tail,
            values,
            names: std::sync::OnceLock::new(),
            allowed,
            tables: sharing.is_none(),
        })
    }

    /// These detectors, leaving what `allowed` holds as it is (see [`Allowed::holds`]).
    pub fn allowing(mut self, allowed: Allowed) -> Self {
        self.allowed = allowed;
        // Built again, with the same, on first use.
        self.names = std::sync::OnceLock::new();
        self
    }

    /// Every finding in `text`, in order, not overlapping.
    pub fn find(&self, text: &[u8]) -> Vec<Finding> {
        self.find_carrying(text, None).0
    }

    /// Every finding in `text`, its first lines read as rows of the table header
    /// `carried` over from the text before it (a stream's chunk before); and the header
    /// of the table whose rows run to the end of `text`, for the next.
    pub(crate) fn find_carrying(
        &self,
        text: &[u8],
        carried: Option<&crate::table::Header>,
    ) -> (Vec<Finding>, Option<crate::table::Header>) {
        let mut findings = Vec::new();
        // Capture slots per value pattern, made on first use and reused for every match.
        let mut slots: Vec<Option<Captures>> = self.values.iter().map(|_| None).collect();
        let mut escapes = LineEscapes::new(text);
        // The main search's last answer while a line start's match came first: still the
        // leftmost match from any later position up to its start (or none at all), so the
        // text up to it is not scanned again for every line start before it.
        let mut ahead: Option<Option<regex_automata::Match>> = None;
        let mut cache = self.all.caches.get();
        let mut at = 0;
        while at < text.len() {
            let found = match ahead.take() {
                Some(found) if found.as_ref().is_none_or(|m| m.start() >= at) => found,
                _ => self.search_from(text, at, &mut cache),
            };
            // In a JSON string or a C-like log a line starts right after an escaped line
            // break (`\n`), where the escape's letter leaves no word boundary: a value
            // there (`\npassword=…`, `\nAKIA…`, `\nHi Priya`) is looked for as if the
            // text began there, before any later match.
            let limit = found.as_ref().map_or(text.len(), |m| m.start());
            let at_line = escapes.within(at, limit).find_map(|line| {
                // A window, so that however many line starts a text holds, none is
                // searched further than a value can reach.
                let window = &text[line..text.len().min(line + PEM_BLOCK_BYTES)];
                let input = Input::new(window).anchored(Anchored::Yes);
                self.search(&input, &mut cache).map(|m| {
                    let m =
                        regex_automata::Match::new(m.pattern(), line + m.start()..line + m.end());
                    (m, line..line + window.len())
                })
            });
            // The match, and the part of the text it was found in: a line's value is read
            // there too, as if the text began at the line.
            let (m, searched) = match at_line {
                Some(found_at_line) => {
                    ahead = Some(found);
                    found_at_line
                }
                None => match found {
                    Some(m) => (m, 0..text.len()),
                    None => break,
                },
            };
            // Context around a value (a name's "<email", a key's "password=") may hold
            // another finding: the search goes on after the value, not after the context.
            // A trigger's value is read back before it: the search goes on inside the
            // trigger (the email address after a name's `<`), whatever is found.
            let detector = &self.detectors[m.pattern().as_usize()];
            let read_back = detector.trigger.is_some();
            at = match read_back {
                true => m.start() + 1,
                false => m.end().max(m.start() + 1),
            };
            let value = match read_back {
                true => self.value_read_back(m, text, searched.clone(), 0, &mut slots),
                false => self.value_of(m, text, searched.clone(), &mut slots),
            };
            let Some((mut start, mut end)) = value else {
                continue;
            };
            // A value read back from its trigger is the match its pattern would have given
            // from its start, which came first: the findings within it, made since, give
            // way to it.
            let kept = match read_back {
                true => findings
                    .iter()
                    .rposition(|f: &Finding| f.start < start || f.end > end)
                    .map_or(0, |p| p + 1),
                false => findings.len(),
            };
            // A value read back beyond its match (letters beyond ASCII before a host's
            // first label: `1111\u09ae.co` after the phone `111 1111`) starts no earlier
            // than where the last finding ended.
            let last_end = findings[..kept].last().map_or(0, |f| f.end);
            if read_back && start < last_end {
                // A finding before overlaps it: the search went on after that finding,
                // and the pattern's match would start there or later.
                let Some(value) = self.value_read_back(m, text, searched, last_end, &mut slots)
                else {
                    continue;
                };
                (start, end) = value;
            }
            let confirmed = confirm(detector.check, text, start, end)
                .map(|(s, e)| (s.max(last_end), e))
                .filter(|&(s, e)| s < e && !self.allowed.holds(detector.kind, &text[s..e]));
            if let Some((start, end)) = confirmed {
                findings.truncate(kept);
                let after =
                    self.push_confirmed(detector, text, start..end, last_end, &mut findings);
                at = match read_back {
                    true => after.max(at),
                    false => after,
                };
            } else if read_back {
                // Refused: the search goes on inside the trigger, where `at` stands.
            } else if end - start > MAX_VALUE_BYTES {
                // A run of a value's characters longer than any value: whatever it holds
                // (`password=password=…` as one token) would be searched again from each
                // of its keys to its end, quadratic in the run.
                at = end;
            } else if let Some(parts) = (detector.check == Check::Email)
                .then(|| destination_parts(text, start, end))
                .flatten()
            {
                // No email: an account at an address (`ssh alice@10.0.0.7`, `root@10.0.0.8:/tmp`)
                // or at a host an SSH or copy command names.
                at = self.push_parts(parts, detector.confidence, text, last_end, &mut findings);
            } else if detector.check.resumes_inside() {
                // Another detector's context may stand inside (`--user alice`).
                at = m.start() + 1;
            } else if start > m.start() {
                // A refused value after its context may hold a finding itself (an email
                // after `"user": `, a home directory after `PWD=`): the context is spent,
                // the search goes on at the value.
                at = start;
            } else if end < m.end() {
                // Nor is the context after it spent: a shadow line's hash after its system
                // account (`root:$6$…`), a refused common name's `DC=` domain after it.
                at = end;
            } else if let Some(second) = (matches!(detector.check, Check::Phone))
                .then(|| dotted_second_group(&text[m.start()..], m.len()))
                .flatten()
            {
                // A number refused as a phone may hide an address after its first group (a
                // time's `01 10.40` before `10.40.1.5` in an IIS log's `10:00:01
                // 10.40.1.5`): the search goes on there.
                at = m.start() + second;
            } else if matches!(detector.check, Check::KnownName) {
                // A run of capitalised words that names nobody may still hold a name, a
                // host or a key further on: the search goes on at its second word.
                at = text[m.start()..m.end()]
                    .iter()
                    .position(|b| *b == b' ' || *b == b'\t')
                    .map_or(m.end(), |space| m.start() + space + 1);
            } else if let Some(mark) = (detector.check == Check::Hostname)
                .then(|| token_mark(&text[m.start()..m.end()]))
                .flatten()
            {
                // A refused dotted name may be a token whose vendor's mark is its second
                // label (Terraform Cloud's `….atlasv1.…`): the search goes on at the mark.
                at = m.start() + mark;
            } else if matches!(detector.check, Check::Hostname)
                && matches!(
                    text[m.end()..].trim_ascii_start().first(),
                    Some(b'=' | b':')
                )
            {
                // A dotted property's name is no host, but its last label may be a
                // secret's or an account's key (`spring.datasource.password=…`,
                // `db.user: alice`): the search goes on at that label.
                at = text[m.start()..m.end()]
                    .iter()
                    .rposition(|b| *b == b'.')
                    .map_or(m.end(), |dot| m.start() + dot + 1);
            }
        }
        let mut open = None;
        if self.tables {
            let (cells, header) = self.table_cells(text, &findings, carried);
            open = header;
            if !cells.is_empty() {
                findings.extend(cells);
                findings.sort_by_key(|f| f.start);
            }
        }
        (findings, open)
    }

    /// The cells of tables' columns named for a person, an account or a telephone number
    /// (`first_name`, `username`, `phone`; see [`crate::table`]) that no finding in
    /// `findings` (in order) holds, each where it reads as its column says; the first
    /// lines of `text` read as rows of the header `carried` over. Also the header of the
    /// table whose rows run to the end of `text`.
    pub(crate) fn table_cells(
        &self,
        text: &[u8],
        findings: &[Finding],
        carried: Option<&crate::table::Header>,
    ) -> (Vec<Finding>, Option<crate::table::Header>) {
        use crate::table::Column;
        let mut cells = Vec::new();
        let mut next = 0;
        let (found, open) = crate::table::cells(text, carried);
        for (range, column) in found {
            let value = &text[range.clone()];
            let (kind, category, reason, reads) = match column {
                Column::Person => (
                    Kind::PersonName,
                    Category::Contact,
                    "name in a table's column for a person's name",
                    person_cell(value),
                ),
                Column::Account => (
                    Kind::Username,
                    Category::AccountIdentifiers,
                    "account in a table's column for an account",
                    personal_account(value),
                ),
                Column::Phone => (
                    Kind::Phone,
                    Category::Contact,
                    "telephone number in a table's column for one",
                    phone_cell(value),
                ),
            };
            while findings.get(next).is_some_and(|f| f.end <= range.start) {
                next += 1;
            }
            let held = findings.get(next).is_some_and(|f| f.start < range.end);
            if reads && !held && !self.allowed.holds(kind, value) {
                cells.push(Finding {
                    start: range.start,
                    end: range.end,
                    kind,
                    category,
                    confidence: 0.8,
                    reason,
                });
            }
        }
        (cells, open)
    }
}

/// How far a list of people may run after its field's first name.
const NAME_LIST_LINE: usize = 1024;

/// The names of a list of people after the first, `first` (`, Yuki Sato and Lars
/// Eriksson`): each after a comma, an `and` or both, two or three capitalised words (a
/// middle initial between) that name a person, to the first item that is none or the
/// line's end.
fn list_names(text: &[u8], first: std::ops::Range<usize>) -> Vec<(usize, usize)> {
    let end = memchr::memchr(b'\n', &text[first.end..])
        .map_or(text.len(), |p| first.end + p)
        .min(first.end + NAME_LIST_LINE);
    let spaces = |at: usize| {
        at + text[at..end]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count()
    };
    let mut names = Vec::new();
    let mut at = first.end;
    loop {
        let mut next = spaces(at);
        let comma = next < end && text[next] == b',';
        if comma {
            next = spaces(next + 1);
        }
        let and = text[next..end].starts_with(b"and ") || text[next..end].starts_with(b"and\t");
        if and {
            next = spaces(next + 3);
        }
        if !comma && !and {
            return names;
        }
        // Words of a capital and letters, one space apart, a middle initial among them.
        let (start, mut words, mut stop) = (next, 0, next);
        let mut word = next;
        while word < end && (text[word].is_ascii_uppercase() || text[word] >= 0xC3) {
            let letters = text[word + 1..end]
                .iter()
                .take_while(|b| name_byte(**b))
                .count();
            let initial = letters == 0 && word + 1 < end && text[word + 1] == b'.';
            if letters == 0 && !initial {
                break;
            }
            let after = if initial {
                word + 2
            } else {
                word + 1 + letters
            };
            if !initial {
                words += 1;
                stop = after;
                // A name's last letter ends it (`Eriksson'` in quotes is the name).
                while stop > word + 1 && b"'-".contains(&text[stop - 1]) {
                    stop -= 1;
                }
            }
            if after >= end || text[after] != b' ' {
                break;
            }
            word = after + 1;
        }
        let cut = stop < end && text[stop].is_ascii_alphanumeric();
        if !(2..=3).contains(&words) || cut || !names_a_person(&text[start..stop]) {
            return names;
        }
        names.push((start, stop));
        at = stop;
    }
}

/// The words of a field for a part of a name ([`person_field_pattern`]), lower case: a
/// label's, not a name's.
static NAME_PART_WORDS: WordList = WordList::new(crate::table::NAME_PARTS);
static PERSON_FIELD_WORDS: WordList = WordList::union(&["surname", "name"], &[&NAME_PART_WORDS]);

/// Types, receivers and literals that code writes where a field's value would stand
/// (`owner: str`, `first_name: String`, `self.owner`), lower case.
static FIELD_TYPES: WordList = WordList::new(&[
    "any",
    "bool",
    "boolean",
    "dict",
    "float",
    "int",
    "integer",
    "list",
    "me",
    "number",
    "object",
    "optional",
    "self",
    "str",
    "string",
    "text",
    "true",
    "false",
    "unassigned",
    "uuid",
    "this",
    "cls",
    "none",
    "null",
]);

/// A person's name, or a part of one, as a table's cell holds it (`Piotr`, `Nowak,
/// Piotr`, `Mary O'Neil`, `Jürgen`): letters, with spaces, apostrophes, hyphens, dots and
/// commas between, not a placeholder (`N/A`, `NULL`, `unknown`).
fn person_cell(value: &[u8]) -> bool {
    static PLACEHOLDERS: WordList = WordList::new(&[
        "null",
        "none",
        "nil",
        "n/a",
        "na",
        "unknown",
        "tbd",
        "test",
        "redacted",
        "anonymous",
    ]);
    // MySQL's dump escapes a quote with a backslash (`O\'Sullivan`).
    let escape = |i: usize| value[i] == b'\\' && value.get(i + 1) == Some(&b'\'');
    (2..=64).contains(&value.len())
        && (value[0].is_ascii_alphabetic() || value[0] >= 0xC3)
        && (0..value.len()).all(|i| name_byte(value[i]) || b" .,".contains(&value[i]) || escape(i))
        && !PLACEHOLDERS.contains_lowered(value)
}

/// A telephone number as a table's cell holds it: only a phone's characters (digits,
/// spaces, hyphens, dots, slashes, parentheses, a `+`, an extension's `x` or `ext`), and
/// the number before any extension as [`validate::labelled_phone`] reads one after its
/// label (the column's name is its label): no date, version or address.
fn phone_cell(value: &[u8]) -> bool {
    let number = value
        .split(|b| b.is_ascii_alphabetic())
        .next()
        .unwrap_or(value)
        .trim_ascii();
    value
        .iter()
        .all(|b| b.is_ascii_digit() || b" +-./()xet".contains(b))
        && validate::labelled_phone(number)
}

impl Detectors {
    /// Pushes the findings a confirmed value `text[value]` of `detector` gives, in order, and
    /// returns where the search goes on. Most values give themselves. A pair (`jdoe@ws-0142`,
    /// `alice:S3cret`) gives its parts, a computer's account (`WS-0142$`) its host, an email
    /// address also the handle before it (`kwatanabe <kwatanabe@…>`), a URL's password also
    /// the host named by one label after it (`amqp://guest:S3cret@rabbit-02:5672`, which the
    /// search, resuming after the password, would no longer see after its scheme). What
    /// the value became is left out where the policy allows it, as the value was.
    fn push_confirmed(
        &self,
        detector: &Detector,
        text: &[u8],
        value: std::ops::Range<usize>,
        last_end: usize,
        findings: &mut Vec<Finding>,
    ) -> usize {
        let (start, end) = (value.start, value.end);
        let found = |(start, end): (usize, usize), kind, category, reason| Finding {
            start,
            end,
            kind,
            category,
            confidence: detector.confidence,
            reason,
        };
        let (kind, category, reason) = (detector.kind, detector.category, detector.reason);
        if detector.check == Check::KubeSecret {
            // Each value of the block, its keys left in clear.
            let values = kube_secret(text, start, kube_opened(text, start))
                .map_or_else(Vec::new, |(values, _)| values);
            let parts = values
                .into_iter()
                .filter(|&(s, _)| s >= last_end)
                .map(|value| (found(value, kind, category, reason), true));
            return self.push_allowed(parts, text, end, findings);
        }
        if detector.check == Check::ListName {
            // The list's first name, then the others on its line.
            let names = std::iter::once((start, end)).chain(list_names(text, start..end));
            let parts = names.map(|name| (found(name, kind, category, reason), true));
            return self.push_allowed(parts, text, end, findings);
        }
        if detector.check == Check::SshDestination {
            if let Some(parts) = destination_parts(text, start, end) {
                return self.push_parts(parts, detector.confidence, text, last_end, findings);
            }
        }
        let account = (Kind::Username, Category::AccountIdentifiers);
        let host = (Kind::Hostname, Category::Hostnames);
        // Each with whether the policy has yet to be asked about it.
        let mut parts: [Option<(Finding, bool)>; 3] = [None, None, None];
        match detector.check {
            Check::UserAtHost | Check::UserPassword => {
                let [first, second] = pair_parts(detector.check, text, start, end);
                let (kind, category) = if detector.check == Check::UserAtHost {
                    host
                } else {
                    (Kind::Password, Category::Credentials)
                };
                parts[0] = first.map(|p| (found(p, account.0, account.1, detector.reason), true));
                parts[1] = second.map(|p| (found(p, kind, category, detector.reason), true));
            }
            Check::NetUse => {
                let [user, password] = net_use_parts(text, start, end);
                parts[0] = user.map(|p| (found(p, account.0, account.1, detector.reason), true));
                let (kind, category) = (detector.kind, detector.category);
                // The policy was asked about the whole value, account and password.
                parts[2] = password.map(|p| (found(p, kind, category, detector.reason), true));
            }
            Check::Netrc | Check::Pgpass => {
                // The entry's host and account stand in the detector's context, which the
                // search does not read again.
                let (machine, login) = entry_parts(detector.check, text, start);
                parts[0] = machine
                    .filter(|(p, _, _)| p.0 >= last_end)
                    .map(|(p, kind, category)| (found(p, kind, category, detector.reason), true));
                parts[1] = login
                    .filter(|p| p.0 >= last_end)
                    .map(|p| (found(p, account.0, account.1, detector.reason), true));
                let (kind, category) = (detector.kind, detector.category);
                parts[2] = Some((found((start, end), kind, category, detector.reason), false));
            }
            _ => {
                parts[0] = (detector.check == Check::Email)
                    .then(|| handle_before(text, start, end))
                    .flatten()
                    .filter(|&(s, _)| s >= last_end)
                    .map(|p| {
                        let reason = "account named before its email address";
                        (found(p, account.0, account.1, reason), true)
                    });
                let machine = (detector.kind == Kind::Username)
                    .then(|| machine_account(text, start, end))
                    .flatten();
                parts[1] = Some(match machine {
                    Some(host_end) => (
                        found((start, host_end), host.0, host.1, detector.reason),
                        true,
                    ),
                    None => {
                        let (kind, category) = (detector.kind, detector.category);
                        let end = network_end(detector.check, text, start, end);
                        (found((start, end), kind, category, detector.reason), false)
                    }
                });
                parts[2] = (detector.kind == Kind::UrlPassword)
                    .then(|| self.url_host_after(text, end))
                    .flatten()
                    .map(|p| {
                        let reason = "host of a URL named by its one label";
                        (found(p, host.0, host.1, reason), true)
                    });
            }
        }
        self.push_allowed(
            parts.into_iter().flatten(),
            text,
            end.max(start + 1),
            findings,
        )
    }

    /// Pushes each finding the policy does not allow (or that it was asked about already,
    /// `false`), and returns where the search goes on: `resume`, or after the last pushed.
    fn push_allowed(
        &self,
        parts: impl IntoIterator<Item = (Finding, bool)>,
        text: &[u8],
        mut resume: usize,
        findings: &mut Vec<Finding>,
    ) -> usize {
        for (finding, ask) in parts {
            if !ask
                || !self
                    .allowed
                    .holds(finding.kind, &text[finding.start..finding.end])
            {
                resume = resume.max(finding.end);
                findings.push(finding);
            }
        }
        resume
    }

    /// Pushes an SSH destination's account and host ([`destination_parts`]) that the policy
    /// does not allow, and returns where the search goes on: after the host.
    fn push_parts(
        &self,
        parts: DestinationParts,
        confidence: f32,
        text: &[u8],
        last_end: usize,
        findings: &mut Vec<Finding>,
    ) -> usize {
        let (account, host) = parts;
        let resume = host.0 .1;
        let account = account.map(|range| (range, Kind::Username, Category::AccountIdentifiers));
        let parts = account
            .into_iter()
            .chain([host])
            .filter(|((start, _), _, _)| *start >= last_end)
            .map(|((start, end), kind, category)| {
                let reason = "account and host of an SSH or copy command's destination";
                let finding = Finding {
                    start,
                    end,
                    kind,
                    category,
                    confidence,
                    reason,
                };
                (finding, true)
            });
        self.push_allowed(parts, text, resume, findings)
    }

    /// The host a URL names by its one label right after its userinfo, which ends at `at`
    /// (`@rabbit-02:5672/`), as the URL host detector reads and checks it.
    fn url_host_after(&self, text: &[u8], at: usize) -> Option<(usize, usize)> {
        let mut caps = self.url_host_tail.create_captures();
        let input = Input::new(text).range(at..).anchored(Anchored::Yes);
        self.url_host_tail.search_captures(&input, &mut caps);
        let host = caps.get_group_by_name("v")?;
        confirm(Check::HostLabel, text, host.start, host.end)
    }
}

impl Detectors {
    /// The leftmost-first match in `input`, as the multi-pattern regex would find it: the
    /// forward lazy DFA finds where it ends and whose it is; the start of a host name, an
    /// email or an IPv4 address is then read back from the end by the pattern's shape, any
    /// other's found by the reverse lazy DFA. More than a third of all matches in logs are
    /// host names the check then refuses (`app.yaml`, `worker-8.service`, a stack trace's
    /// frames), each of which paid a reverse search; on prose, fewer reverse states are
    /// built. Should a lazy DFA give up (its cache cleared too often for too little
    /// progress), the PikeVM searches instead.
    /// The leftmost match at or after `at`, as [`Detectors::search`] finds it in the rest
    /// of `text`, but read within a window where `at` lies in a long run of an address's
    /// characters (`A1-A1-A1-…`, `1.2.3.4.1.2.3.4…`). There the patterns that wait for an
    /// `@` or a `://` after such a run (an email's local part, a URL's scheme) keep the
    /// automaton going to the run's end on every search, and a run with a candidate every
    /// few bytes took time growing with the square of its length (0.9 MB of `A1-`: 34 s).
    /// A match within the window's first half that ends before the window does is the one
    /// the whole rest gives, unless a longer one than half the window starts before it;
    /// otherwise the window doubles.
    fn search_from(
        &self,
        text: &[u8],
        at: usize,
        cache: &mut UnionCache,
    ) -> Option<regex_automata::Match> {
        let whole = |cache: &mut UnionCache| self.search(&Input::new(text).range(at..), cache);
        let run = &text[at..text.len().min(at + RUN_WINDOW)];
        if run.len() < RUN_WINDOW || !run.iter().copied().all(address_run_byte) {
            return whole(cache);
        }
        let mut window = RUN_WINDOW;
        while at + window < text.len() {
            let end = at + window;
            if let Some(m) = self.search(&Input::new(text).range(at..end), cache) {
                if m.start() - at <= window / 2 && m.end() < end {
                    return Some(m);
                }
            }
            window *= 2;
        }
        whole(cache)
    }

    fn search(&self, input: &Input, cache: &mut UnionCache) -> Option<regex_automata::Match> {
        let (text, at) = (input.haystack(), input.start());
        let (forward, reverse) = cache.halves.as_parts_mut();
        // `None` where the PikeVM must answer instead.
        let found = (|| {
            let end = match self.all.halves.forward().try_search_fwd(forward, input) {
                Ok(Some(end)) => end,
                Ok(None) => return Some(None),
                Err(_) => return None,
            };
            let (pattern, end) = (end.pattern(), end.offset());
            let shape = self.shapes[pattern.as_usize()];
            let start = if input.get_anchored().is_anchored() || end == at {
                at
            } else if let Some(start) = shape.and_then(|s| scanned_start(s, text, at, end)) {
                start
            } else {
                let back = input
                    .clone()
                    .span(at..end)
                    .anchored(Anchored::Pattern(pattern));
                let halves = &self.all.halves;
                halves
                    .reverse()
                    .try_search_rev(reverse, &back)
                    .ok()??
                    .offset()
            };
            Some(Some(regex_automata::Match::new(pattern, start..end)))
        })();
        found.unwrap_or_else(|| {
            let vm = &self.all.pikevm;
            vm.find(cache.pikevm(vm), input.clone())
        })
    }
}

/// Where the second group of a number, the first `len` bytes of `number` (the text from
/// its start), starts, if it is dotted like an address's start (`10.40` of `01 10.40`,
/// `127` of `1883 127` before `.0.0.1`); a byte dump's pairs (`34 35 34 30`) are not.
fn dotted_second_group(number: &[u8], len: usize) -> Option<usize> {
    let space = number[..len].iter().position(|b| *b == b' ')? + 1;
    let digits = number[space..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let dotted = (1..=3).contains(&digits)
        && number.get(space + digits) == Some(&b'.')
        && number
            .get(space + digits + 1)
            .is_some_and(u8::is_ascii_digit);
    dotted.then_some(space)
}

/// How far a window of [`name_windows`] reaches either side of its candidate, at most.
const NAME_WINDOW: usize = 1024;

/// The parts of `text` that may hold a full name, in order and not overlapping: the line
/// around each capitalised word followed by a space or tab and a capital, with the line
/// before it, each side at most [`NAME_WINDOW`] bytes.
fn name_windows(text: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    // Bit `i` set where a name's words may meet at `text[i]`: a space or tab after a small
    // letter (or a byte beyond ASCII) and before a capital (or a letter beyond ASCII, or
    // an escape's backslash). Never the first or last byte: nothing stands beside them.
    let classes = crate::scan::per_block(text, |b| (b.lower | b.high, b.blank, b.upper | b.lead));
    let mut meets: Vec<u64> = (0..classes.len())
        .map(|k| {
            let (small, blank, capital) = classes[k];
            let small_before = small << 1 | k.checked_sub(1).map_or(0, |j| classes[j].0 >> 63);
            let capital_after = capital >> 1 | classes.get(k + 1).map_or(0, |next| next.2 << 63);
            blank & small_before & capital_after
        })
        .collect();
    // A name's first word starts with a capital (after an escape's letter, `\nPriya`, or
    // as an escape itself, `\u00c9mile`): a meet after a word that holds none
    // (`connection Reset`, `fn Into`) starts no name. Half of prose's meets and nearly all
    // of source code's go.
    for (k, word) in meets.iter_mut().enumerate() {
        let mut bits = *word;
        while bits != 0 {
            let blank = k * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if !capital_in_word_before(text, blank) {
                *word &= !(1 << (blank % 64));
            }
        }
    }
    let mut at = 1;
    let mut last_end = 0;
    std::iter::from_fn(move || {
        let gap = crate::scan::next(&meets, at, true)?;
        let floor = gap.saturating_sub(NAME_WINDOW);
        let line = text[floor..gap]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(floor, |p| floor + p);
        let start = text[floor..line]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(floor, |p| floor + p + 1)
            .max(last_end);
        let ceiling = text.len().min(gap + NAME_WINDOW);
        let mut end = text[gap..ceiling]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(ceiling, |p| gap + p);
        // Lines that follow with a candidate of their own join the window, whole.
        while end < ceiling {
            let Some(next) = text[end + 1..ceiling]
                .iter()
                .position(|b| *b == b'\n')
                .map(|p| end + 1 + p)
                .or((ceiling == text.len()).then_some(ceiling))
            else {
                break;
            };
            if crate::scan::next(&meets, end + 1, true).is_none_or(|gap| gap >= next) {
                break;
            }
            end = next;
        }
        at = end.max(gap + 1);
        last_end = end;
        Some(start..end)
    })
}

/// Whether the word that ends before `text[blank]` (letters, digits, bytes beyond ASCII,
/// apostrophes, hyphens and backslashes) holds a capital, a byte that starts a letter
/// beyond ASCII, or a backslash; a word longer than a name's counts as holding one.
fn capital_in_word_before(text: &[u8], blank: usize) -> bool {
    let word_byte = |b: u8| b.is_ascii_alphanumeric() || b >= 0x80 || b"'-\\".contains(&b);
    let capital = |b: u8| b.is_ascii_uppercase() || b >= 0xC3 || b == b'\\';
    let floor = blank.saturating_sub(64);
    match text[floor..blank].iter().rposition(|b| !word_byte(*b)) {
        Some(gap) => text[floor + gap + 1..blank].iter().any(|b| capital(*b)),
        None => floor > 0 || text[..blank].iter().any(|b| capital(*b)),
    }
}

/// Where the match of a host name, an email address or an IPv4 address that ends at `end`
/// starts: the leftmost byte, from `at` on, that starts a word (`\b`) and from which the
/// pattern's shape reaches `end`, read back from the end. The forward search vouches that
/// such a match ends there; the scan only finds how far back it reaches. `None` where the
/// shape is not met (the reverse search then answers).
fn scanned_start(shape: Shape, text: &[u8], at: usize, end: usize) -> Option<usize> {
    let starts_word = |p: usize| p == 0 || !word_byte(text[p - 1]);
    match shape {
        // Labels of letters, digits and `-`, each starting with a letter or digit.
        Shape::Hostname => {
            let mut start = None;
            let mut p = end;
            while p > at {
                p -= 1;
                let b = text[p];
                if b == b'.' {
                    // An empty label or one starting with `-`: nothing before can start
                    // the name.
                    if !text.get(p + 1).is_some_and(u8::is_ascii_alphanumeric) {
                        break;
                    }
                } else if b.is_ascii_alphanumeric() {
                    if starts_word(p) {
                        start = Some(p);
                    }
                } else if b != b'-' {
                    break;
                }
            }
            start
        }
        // The domain back to its `@`, then a local part that starts with a letter or
        // digit.
        Shape::Email => {
            let domain = text[at..end]
                .iter()
                .rposition(|b| !(b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-'))?;
            let mut p = at + domain;
            if text[p] != b'@' {
                return None;
            }
            let mut start = None;
            while p > at {
                p -= 1;
                let b = text[p];
                if b.is_ascii_alphanumeric() {
                    if starts_word(p) {
                        start = Some(p);
                    }
                } else if !b"._%+-".contains(&b) {
                    break;
                }
            }
            start
        }
        // Four groups of one to three digits.
        Shape::Ipv4 => {
            let mut p = end;
            for group in 0..4 {
                let digits = text[at..p]
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if !(1..=3).contains(&digits) {
                    return None;
                }
                p -= digits;
                if group < 3 {
                    if p == at || text[p - 1] != b'.' {
                        return None;
                    }
                    p -= 1;
                }
            }
            starts_word(p).then_some(p)
        }
    }
}

impl Detectors {
    /// The value of a detector found by its trigger `m`: its pattern's own match that
    /// ends where the trigger does, starting at `from` or after, within the trigger's
    /// line and the bytes before it a match may span.
    fn value_read_back(
        &self,
        m: regex_automata::Match,
        text: &[u8],
        searched: std::ops::Range<usize>,
        from: usize,
        slots: &mut [Option<Captures>],
    ) -> Option<(usize, usize)> {
        let i = m.pattern().as_usize();
        let value = self.values[i].as_ref()?;
        let caps = slots[i].get_or_insert_with(|| value.regex.create_captures());
        let offset = searched.start;
        let text = &text[searched];
        let end = m.end() - offset;
        // Within the trigger's line: no pattern read back spans a line break.
        let trigger = m.start() - offset;
        let floor = trigger.saturating_sub(READ_BACK_BYTES);
        let start = memchr::memrchr(b'\n', &text[floor..trigger])
            .map_or(floor, |p| floor + p + 1)
            .max(from.saturating_sub(offset));
        let window = Input::new(&text[..end]).span(start..end);
        let matched = value.regex.find_iter(window).find(|f| f.end() == end)?;
        let (start, end) = value.value_in(text, matched.range(), caps)?;
        Some((offset + start, offset + end))
    }

    /// The sensitive value of match `m` (its pattern ID a detector's index), with capture
    /// slots per detector made on first use and reused. A triggered detector's match is
    /// its pattern's own here (the scoped searches run the whole pattern).
    fn value_of(
        &self,
        m: regex_automata::Match,
        text: &[u8],
        searched: std::ops::Range<usize>,
        slots: &mut [Option<Captures>],
    ) -> Option<(usize, usize)> {
        let i = m.pattern().as_usize();
        match self.detectors[i].value {
            Value::Whole => Some((m.start(), m.end())),
            Value::After(separators) => {
                let start = text[m.range()]
                    .iter()
                    .rposition(|b| separators.contains(b))
                    .map_or(m.start(), |p| m.start() + p + 1);
                Some((start, m.end()))
            }
            Value::Group => {
                // The match is known: anchored passes over it pick the value out.
                let value = self.values[i].as_ref()?;
                let caps = slots[i].get_or_insert_with(|| value.regex.create_captures());
                let from = searched.start;
                let matched = m.start() - from..m.end() - from;
                let (start, end) = value.value_in(&text[searched], matched, caps)?;
                Some((from + start, from + end))
            }
        }
    }
}

impl Detectors {
    /// The host names in `text`, found by the host-name detector alone (the learning pass
    /// needs nothing else).
    pub fn host_names<'t>(&self, text: &'t [u8]) -> impl Iterator<Item = &'t [u8]> + use<'t, '_> {
        self.host_names_in(text, 0..text.len())
    }

    /// The host names within `range` of `text` (the text around it decides boundaries).
    ///
    /// A run of host characters the pattern would match as a whole (the learning pass
    /// hands over runs around dots, and most are so) is checked without the automaton.
    pub fn host_names_in<'t>(
        &self,
        text: &'t [u8],
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = &'t [u8]> + use<'t, '_> {
        let (whole, search) = match run_shape(text, range.clone()) {
            RunShape::None => (None, None),
            RunShape::Whole => (confirm(Check::Hostname, text, range.start, range.end), None),
            RunShape::Search => (
                None,
                Some(self.hosts.find_iter(Input::new(text).range(range))),
            ),
        };
        let searched = search
            .into_iter()
            .flatten()
            .filter_map(move |m| confirm(Check::Hostname, text, m.start(), m.end()));
        whole
            .into_iter()
            .chain(searched)
            .map(move |(s, e)| &text[s..e])
            .filter(|name| !self.allowed.holds(Kind::Hostname, name))
    }
}

impl Detectors {
    /// The hosts `text` names by one label (`Host Name . . : WS-JDOE-0142`, `\\\\DC01\\`),
    /// found by their detectors alone, for the learning pass: searched from each of their
    /// words on.
    pub fn host_labels<'t>(&self, text: &'t [u8]) -> impl Iterator<Item = &'t [u8]> + use<'t, '_> {
        fn search(scoped: &Scoped, text: &[u8], hit: usize) -> Option<regex_automata::Match> {
            let window = hit..text.len().min(hit + HOST_LABEL_WINDOW);
            scoped.regex.search(&Input::new(text).range(window))
        }
        self.scoped_values(&self.host_labels, Kind::Hostname, text, search)
            .map(move |(_, value, _)| &text[value])
    }

    /// The hosts syslog lines name in their header (`Dec  5 10:00:01 web-03 sshd[991]:`,
    /// `2026-12-05T10:00:01Z web-03 sshd[991]:`), for the learning pass, which learns those
    /// with a digit or a hyphen as it learns a host named by its label. A detector of its
    /// own in the automaton cost 12 % of the benchmark corpus, whose every log line starts
    /// so; read from the line's first words here, a header costs a few comparisons.
    pub fn syslog_hosts(text: &[u8]) -> impl Iterator<Item = &[u8]> {
        std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text).map(|p| p + 1))
            .filter_map(move |start| {
                let line = &text[start..text.len().min(start + SYSLOG_HEADER_BYTES)];
                let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
                syslog_host(line)
            })
    }

    /// The nodes a `kubectl` table names (`kubectl get nodes`' first column, the `NODE`
    /// column of `kubectl get pods -o wide`), by one label (`k8s-worker-03`,
    /// `gke-prod-default-pool-1a2b3c4d-xk9p`), for the learning pass. The table's header
    /// says which column; its rows end at a line that starts with no name (an empty line,
    /// an indented one, a prompt's `$`, a comment), and a row's column stands after two
    /// spaces at least, as `kubectl` pads them.
    pub fn kubectl_nodes(text: &[u8]) -> impl Iterator<Item = &[u8]> {
        // Only a header's line starts a table, so the text is searched for its word alone.
        let headers = text
            .starts_with(b"NAME")
            .then_some(0)
            .into_iter()
            .chain(memchr::memmem::find_iter(text, b"\nNAME").map(|newline| newline + 1));
        headers.flat_map(move |at| {
            let mut lines = text[at..]
                .split(|b| *b == b'\n')
                .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
            let column = lines.next().and_then(kubectl_node_column);
            lines
                .take_while(move |line| {
                    column.is_some()
                        && !line.starts_with(b"NAME")
                        && line
                            .first()
                            .is_some_and(|b| !b.is_ascii_whitespace() && !b"$#>".contains(b))
                })
                .filter_map(move |line| {
                    let at = column?;
                    let starts = at < line.len() && (at == 0 || line[..at].ends_with(b"  "));
                    if !starts {
                        return None;
                    }
                    let word = &line[at..];
                    let name = &word[..word.iter().position(|b| *b == b' ').unwrap_or(word.len())];
                    let label = !name.is_empty()
                        && !name.contains(&b'.')
                        && confirm(Check::HostLabel, name, 0, name.len()).is_some();
                    label.then_some(name)
                })
        })
    }

    /// The hosts an `/etc/hosts` line names by one label after its address (`10.20.30.42
    /// ldap02 ldap02-old  # lab`), for the learning pass. A line that starts with an
    /// address and holds anything but names teaches nothing: `ip neigh`'s `10.0.0.1 dev
    /// eth0 lladdr 52:54:…`, a known host's key.
    pub fn hosts_file_labels(text: &[u8]) -> impl Iterator<Item = &[u8]> {
        std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text).map(|p| p + 1))
            .flat_map(move |start| hosts_line_names(text, start))
            .filter(|name| {
                !name.contains(&b'.') && confirm(Check::HostLabel, name, 0, name.len()).is_some()
            })
    }

    /// The user names in `text` that the user-name detectors find in context (`user
    /// alice`, `/home/alice`, `C:\\Users\\alice`), for the learning pass: each as the
    /// range of its match's context (`user=`) and the range of the name.
    ///
    /// The patterns run only where one of their words is: anchored at it, or, after a
    /// path's separator (`C:\\Users\\`), from a few bytes before it.
    pub fn user_names(&self, text: &[u8]) -> Vec<SeenUser> {
        fn search(scoped: &Scoped, text: &[u8], start: usize) -> Option<regex_automata::Match> {
            let window = text.len().min(start + USER_WINDOW);
            let anchored = Input::new(text)
                .range(start..window)
                .anchored(Anchored::Yes);
            // The automaton alone says whether and where; the captures, which cost more,
            // run on a match only.
            scoped.regex.search(&anchored).or_else(|| {
                // A path's name after its separator (`/home/alice`), or a passwd or shadow
                // line's account before its `:x:` or `:$`: searched from a few bytes
                // before, or from the line's start.
                let from = if text[start] == b':' {
                    line_start(text, start, 33)
                } else {
                    let after_separator = start > 0 && b"/\\".contains(&text[start - 1]);
                    after_separator.then(|| start.saturating_sub(8))
                }?;
                scoped.regex.search(&Input::new(text).range(from..window))
            })
        }
        fn search_command(
            scoped: &Scoped,
            text: &[u8],
            start: usize,
        ) -> Option<regex_automata::Match> {
            let rest = &text[start..];
            // An SSH key's base64 runs to hundreds of bytes before its comment.
            let reach = if rest.starts_with(b"ssh-") || rest.starts_with(b"ecdsa-") {
                SSH_KEY_LINE
            } else {
                USER_WINDOW
            };
            let window = text.len().min(start + reach);
            let anchored = Input::new(text)
                .range(start..window)
                .anchored(Anchored::Yes);
            // The automaton alone says whether and where; the captures, which cost more,
            // run on a match only.
            scoped.regex.search(&anchored).or_else(|| {
                if COMMAND_NAMES.iter().any(|w| rest.starts_with(w.as_bytes())) {
                    // A command's options after its name (`psql -h db -U jdoe`).
                    let end = rest
                        .iter()
                        .take(SSH_KEY_LINE)
                        .position(|b| *b == b'\n')
                        .map_or(text.len().min(start + SSH_KEY_LINE), |p| start + p);
                    return scoped.regex.search(&Input::new(text).range(start..end));
                }
                // A prompt's account before its `]$` or `:~$`: searched from the line's
                // start.
                let line = line_start(text, start, USER_WINDOW)?;
                scoped.regex.search(&Input::new(text).range(line..window))
            })
        }
        let mut seen: Vec<SeenUser> = self
            .scoped_values(&self.users, Kind::Username, text, search)
            .chain(self.scoped_values(&self.commands, Kind::Username, text, search_command))
            .map(move |(context, value, check)| {
                if check == Check::UserAtHost {
                    let [name, host] = pair_parts(check, text, value.start, value.end);
                    SeenUser {
                        context,
                        name: name.map(|(s, e)| s..e),
                        host: host.map(|(s, e)| s..e),
                        sure: true,
                    }
                } else {
                    SeenUser {
                        context,
                        name: Some(value),
                        host: None,
                        sure: check == Check::CommandUser,
                    }
                }
            })
            .collect();
        // In the text's order, as the two searches' values interleave.
        seen.sort_by_key(|user| user.context);
        seen
    }

    /// What `scoped`'s detectors find in `text`, values of `kind`, for the learning pass:
    /// `search` finds the match for each of their words, at its start; each value is
    /// confirmed by its detector's own check and given once, in order, as its match's
    /// start and the value's range.
    fn scoped_values<'t, 's>(
        &'s self,
        scoped: &'s Scoped,
        kind: Kind,
        text: &'t [u8],
        search: fn(&Scoped, &[u8], usize) -> Option<regex_automata::Match>,
    ) -> impl Iterator<Item = (usize, std::ops::Range<usize>, Check)> + use<'t, 's> {
        // Capture slots per value pattern, made on first use (as in `find`).
        let mut slots: Vec<Option<Captures>> = self.values.iter().map(|_| None).collect();
        let mut at = 0;
        // Where the last value given ends.
        let mut given = 0;
        std::iter::from_fn(move || {
            while let Some(word) = scoped.words.find(&text[at..]) {
                let hit = at + word.start();
                at = hit + 1;
                let Some(found) = search(scoped, text, hit) else {
                    continue;
                };
                let detector = scoped.detectors[found.pattern().as_usize()];
                let found = regex_automata::Match::new(
                    regex_automata::PatternID::new_unchecked(detector),
                    found.range(),
                );
                let Some((start, end)) = self.value_of(found, text, 0..text.len(), &mut slots)
                else {
                    continue;
                };
                // A match found from before the word (after a path's separator) may end
                // before it, and be one given already (`/home/u` of `/home/u/user`): the
                // scan never goes back, and gives each value once.
                at = at.max(end);
                if end <= given {
                    continue;
                }
                // The detector's own check (a domain's account, a directory's name refuse
                // more than a user name's).
                let check = self.detectors[detector].check;
                if let Some((s, e)) = confirm(check, text, start, end)
                    .filter(|&(s, e)| !self.allowed.holds(kind, &text[s..e]))
                {
                    given = end;
                    return Some((found.start(), s..e, check));
                }
            }
            None
        })
    }
}

/// The containers and built-in groups of Active Directory and OpenLDAP, which name no one:
/// `CN=Users,DC=corp,DC=acme,DC=com`.
const DIRECTORY_CONTAINERS: &[&str] = &[
    "Users",
    "Computers",
    "Builtin",
    "System",
    "Configuration",
    "Schema",
    "Partitions",
    "Sites",
    "Services",
    "Keys",
    "Program Data",
    "Managed Service Accounts",
    "ForeignSecurityPrincipals",
    "Domain Controllers",
    "Infrastructure",
    "LostAndFound",
    "NTDS Quotas",
    "Domain Admins",
    "Domain Users",
    "Domain Computers",
    "Domain Guests",
    "Enterprise Admins",
    "Schema Admins",
    "Administrators",
    "Administrator",
    "Guest",
    "krbtgt",
    "Group Policy Creator Owners",
    "Cert Publishers",
    "DnsAdmins",
    "Account Operators",
    "Server Operators",
    "Backup Operators",
    "Print Operators",
    "Remote Desktop Users",
    "Protected Users",
    "admin",
    "Manager",
    "people",
    "groups",
];

/// The words the user-name patterns start with or hold (`for user`, `username`, `/home/`,
/// `Accepted … for`, `sudo:`, `C:\\Users\\`, `account name`, a passwd line's `:x:`), as they
/// are usually written.
const USER_WORDS: &[&str] = &[
    "user", "User", "USER", "login", "Login", "LOGIN", "logon", "Logon", "LOGON", "uid", "Uid",
    "UID", "account", "Account", "ACCOUNT", "logged", "Logged", "LOGGED", "signed", "Signed",
    "SIGNED", "/home/", "Accepted", "Failed", "sudo", "CRON", ":x:", ":$2", ":$5", ":$6", ":$y",
];

/// The words an account's prompt or SSH key holds: a prompt's end (`]$ `, `:~$`), a key's
/// type. With [`COMMAND_NAMES`], three bytes or more, and at most 32, as for
/// [`USER_WORDS`]: the packed search's fastest form.
const PROMPT_WORDS: &[&str] = &["]$ ", "]# ", ":~$", ":~#", ":~/", "ssh-", "ecdsa-"];

/// The commands whose options the user-name patterns find further on their line.
const COMMAND_NAMES: &[&str] = &[
    "psql",
    "pg_dump",
    "pg_restore",
    "pg_basebackup",
    "createdb",
    "vacuumdb",
    "mysql",
    "mariadb",
    "docker",
    "podman",
    "ssh ",
];

/// How far an SSH key's comment, or a command's option, may lie from the line's start.
const SSH_KEY_LINE: usize = 1024;

/// A user name the learning pass met: where its match's context starts, the account (none
/// where a prompt's is `root`), the host it is on (a prompt's or a key's), and whether the
/// context alone makes it an account (a prompt, a key, a command's option).
pub struct SeenUser {
    pub context: usize,
    pub name: Option<std::ops::Range<usize>>,
    pub host: Option<std::ops::Range<usize>>,
    pub sure: bool,
}

/// How far after its word a user name is looked for: the longest keyword and separators,
/// and a name of at most 64 bytes.
const USER_WINDOW: usize = 160;

/// What the host-name pattern can make of a range of text.
enum RunShape {
    /// No host name: no dot followed by a letter.
    None,
    /// Its leftmost match is the whole range: host characters only, word boundaries at
    /// both ends, labels that start with a letter or digit, the last with a letter.
    Whole,
    /// Anything else (a space, a leading hyphen, two dots in a row): ask the pattern.
    Search,
}

fn run_shape(text: &[u8], range: std::ops::Range<usize>) -> RunShape {
    let bytes = &text[range.clone()];
    if !bytes
        .windows(2)
        .any(|w| w[0] == b'.' && w[1].is_ascii_alphabetic())
    {
        return RunShape::None;
    }
    let word = |b: Option<&u8>| b.is_some_and(|b| word_byte(*b));
    let boundaries =
        !word(range.start.checked_sub(1).and_then(|i| text.get(i))) && !word(text.get(range.end));
    let host_bytes = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-');
    let labels_start_well = bytes
        .split(|b| *b == b'.')
        .all(|label| label.first().is_some_and(u8::is_ascii_alphanumeric));
    let ends_well = bytes.last().is_some_and(u8::is_ascii_alphanumeric);
    let last_label_letter = bytes
        .rsplit(|b| *b == b'.')
        .next()
        .and_then(|label| label.first())
        .is_some_and(u8::is_ascii_alphabetic);
    if boundaries && host_bytes && labels_start_well && ends_well && last_label_letter {
        RunShape::Whole
    } else {
        RunShape::Search
    }
}

fn regex_syntax_escape(text: &str) -> String {
    regex::escape(text)
}

/// Words that follow "Hi", "Name:" and the like without being anyone's name.
static NOT_NAMES: WordList = WordList::new(&[
    // Titles: the name is the word after (`Dear Dr. Kowalczyk`, found by the titles'
    // detector; `Hi Mrs, …` names nobody).
    "Mr",
    "Mrs",
    "Ms",
    "Miss",
    "Mx",
    "Dr",
    "Prof",
    "Team",
    "All",
    "Everyone",
    "Customer",
    "Support",
    "Sir",
    "Madam",
    "There",
    "World",
    "Again",
    "Folks",
    "Guys",
    "Admin",
    "Administrator",
    "Sales",
    "Service",
    "User",
    "Users",
    "The",
    "This",
    "For",
    "In",
    "Advance",
    "Engineering",
    "Ops",
    "Operations",
    "Partner",
    "Friend",
    "Friends",
    "Null",
    "None",
    "Unknown",
    "Test",
    "String",
    "Value",
    "Name",
    "Type",
    "Default",
    "Note",
    // After `call me`: when, not who.
    "Back",
    "Later",
    "Anytime",
    "Today",
    "Tomorrow",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
]);

/// First words, besides an article, that make the capitalised words after a label or a
/// hand-off no person's name (`escalated to Tier Two`, `thanks to Our Users`, `Owner: My
/// Team`), lower case.
static NOT_NAME_STARTS: WordList = WordList::new(&[
    "tier", "level", "our", "your", "their", "my", "his", "her", "all", "both",
    // After `This is`, `I'm`: a title-cased phrase (`This is Very Helpful`, `I'm Not
    // Sure`, `This is Free Software`), no one's name.
    "very", "not", "just", "only", "also", "really", "free", "still", "now", "why", "how", "what",
    "where", "when", "so", "too", "quite", "pretty", "done", "fixed", "working", "ready", "sure",
    "sorry", "happy", "glad", "afraid", "here", "there", "in", "on", "at",
]);

/// Words that follow "user" and the like without being a user name.
static NOT_USERNAMES: WordList = WordList::new(&[
    "name",
    // A placeholder (`user=username`, `uid=<userid>`), and the word after a bare keyword
    // in prose (`the username field`). Learned as an account, a placeholder would be
    // replaced in every sentence of the bundle that names the field.
    "username",
    "user_name",
    "userid",
    "user_id",
    "field",
    "fields",
    // A SIP address's parameter (`<sip:+14155550123@sbc;user=phone>`).
    "phone",
    // Junos' `set system login user jdoe`: the account is the word after.
    "user",
    // `ps aux`'s header: `USER  PID %CPU`; `whoami /all`'s `USER INFORMATION`; a
    // Windows event's `Logon Server:`.
    "pid",
    "information",
    "server",
    "failure",
    "id",
    "ids",
    "are",
    "during",
    "creation",
    "line",
    "lines",
    "manual",
    "attribute",
    "attributes",
    "friendly",
    "is",
    "was",
    "has",
    "not",
    "the",
    "a",
    "an",
    "to",
    "of",
    "in",
    "on",
    "and",
    "or",
    "with",
    "from",
    "for",
    "agent",
    "data",
    "info",
    "account",
    "accounts",
    "session",
    "sessions",
    "login",
    "logged",
    "request",
    "requests",
    "root",
    "admin",
    "administrator",
    "system",
    "null",
    "none",
    "nobody",
    "unknown",
    "guest",
    "anonymous",
    "default",
    "public",
    "all",
    "users",
    "details",
    "management",
    "manager",
    "service",
    "mode",
    "type",
    "profile",
    "settings",
    "can",
    "cannot",
    "must",
    "should",
    "will",
    "does",
    "did",
    "may",
    "shared",
    "local",
    "group",
    "groups",
    "role",
    "roles",
    "token",
    "password",
    "exists",
    "found",
    "failed",
    "authenticated",
    "interface",
    "space",
    "level",
    "number",
    "count",
    "list",
    "lookup",
    // What logs say of a login (`login successful`, `Login attempt from`, `user denied`).
    "as",
    "at",
    "by",
    "via",
    "ok",
    "okay",
    "success",
    "successful",
    "successfully",
    "succeeded",
    "attempt",
    "attempts",
    "attempted",
    "timeout",
    "timed",
    "denied",
    "error",
    "errors",
    "refused",
    "rejected",
    "expired",
    "locked",
    "disabled",
    "enabled",
    "invalid",
    "incorrect",
    "required",
    "created",
    "deleted",
    "updated",
    "changed",
    "blocked",
    "allowed",
    "granted",
    "page",
    "form",
    "prompt",
    "status",
    "retry",
    "started",
    "completed",
    // Prose about users (`user code should`, `a separate user which`, `user input`,
    // `systemctl --user enable`): what follows the noun names no account.
    "which",
    "that",
    "who",
    "whom",
    "whose",
    "code",
    "input",
    "program",
    "programs",
    "memory",
    "configuration",
    "privileges",
    "identity",
    "limits",
    "names",
    "variable",
    "variables",
    "database",
    "services",
    "scripts",
    "credentials",
    "certificate",
    "interaction",
    "experience",
    "socket",
    "defined",
    "specified",
    "supplied",
    "explicitly",
    "change",
    "changes",
    "enable",
    "disable",
    "start",
    "stop",
    "restart",
    "mask",
    "unmask",
    "reload",
]);

/// Accounts every system, service or official container image (`node`) has, and words of
/// everyday logs, that the learning pass does not replace wherever they stand alone (they
/// name no person); in context (`user postgres`) they are still found. Lower case.
pub(crate) static SHARED_ACCOUNTS: WordList = WordList::new(&[
    "adm",
    "apache",
    "backup",
    "bin",
    "centos",
    "chrony",
    "core",
    "daemon",
    "dbus",
    "debian",
    "demo",
    "deploy",
    "dev",
    "docker",
    "ec2-user",
    "ftp",
    "games",
    "gid",
    "git",
    "grafana",
    "halt",
    "httpd",
    "jenkins",
    "lp",
    "mail",
    "man",
    "messagebus",
    "monitor",
    "monitoring",
    "mysql",
    "news",
    "nfsnobody",
    "nginx",
    "node",
    "ntp",
    "operator",
    "ops",
    "oracle",
    "passwd",
    "polkitd",
    "postfix",
    "postgres",
    "prometheus",
    "proxy",
    "rabbitmq",
    "redis",
    "reboot",
    "rpc",
    "rpcuser",
    "shutdown",
    "sshd",
    "sync",
    "sys",
    "syslog",
    "systemd-network",
    "systemd-resolve",
    "tcpdump",
    "test",
    "tester",
    "tomcat",
    "ubuntu",
    "user",
    "uid",
    "uucp",
    "uuidd",
    "vagrant",
    "www",
    "www-data",
]);

/// The positions right after each escaped line break or tab in a text, met in order.
struct LineEscapes<'t> {
    text: &'t [u8],
    /// Where to look for the next backslash.
    from: usize,
    next: Option<usize>,
}

impl<'t> LineEscapes<'t> {
    fn new(text: &'t [u8]) -> Self {
        let mut escapes = Self {
            text,
            from: 0,
            next: None,
        };
        escapes.advance();
        escapes
    }

    fn advance(&mut self) {
        self.next = None;
        while let Some(found) = memchr::memchr(b'\\', &self.text[self.from..]) {
            let backslash = self.from + found;
            self.from = backslash + 1;
            if escape_letter(self.text, backslash + 1) {
                self.next = Some(backslash + 2);
                self.from = backslash + 2;
                return;
            }
        }
        self.from = self.text.len();
    }

    /// The line starts from `start` up to and including `end`; those before `start` are
    /// passed for good.
    fn within(&mut self, start: usize, end: usize) -> impl Iterator<Item = usize> + use<'_, 't> {
        std::iter::from_fn(move || {
            while self.next.is_some_and(|line| line < start) {
                self.advance();
            }
            let line = self
                .next
                .filter(|line| *line <= end && *line < self.text.len())?;
            self.advance();
            Some(line)
        })
    }
}

/// Whether `b` is a byte of a word as the patterns' `\b` reads it (ASCII, no Unicode): a
/// letter, a digit or `_`.
pub(crate) fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A digit or a hyphen: a host's own name holds one (`web01`, `db-primary`), an everyday
/// word (`mail`, `www`) none.
pub(crate) const fn host_mark(b: u8) -> bool {
    b.is_ascii_digit() || b == b'-'
}

/// Whether `value` is a day's or a month's name starting a date (`last login Tue Dec  1`,
/// `login Mon 30 Nov`, `Sunday, November 29`): another such name or a digit after it.
fn starts_a_date(value: &[u8], after: &[u8]) -> bool {
    let after = after.strip_prefix(b",").unwrap_or(after);
    let next = after.trim_ascii_start();
    let word = &next[..next
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(next.len())];
    next.len() < after.len()
        && CALENDAR_WORDS.contains_lowered(value)
        && (word.first().is_some_and(u8::is_ascii_digit) || CALENDAR_WORDS.contains_lowered(word))
}

/// Whether `text[at]` is the letter of an escape (`\n`, `\r`, `\t`: a backslash that is not
/// itself escaped, then the letter), as JSON strings and C-like logs write line breaks.
pub(crate) fn escape_letter(text: &[u8], at: usize) -> bool {
    matches!(text.get(at), Some(b'n' | b'r' | b't')) && escaped(text, at)
}

/// Whether `text[at]` follows a backslash that is not itself escaped (an odd run).
fn escaped(text: &[u8], at: usize) -> bool {
    text[..at].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
}

/// Common first names, lower case, one per line (`#` starts a comment line).
const FIRST_NAMES: &str = include_str!("first_names.txt");

/// The first names capitalised, as one alternation (`Aaron|Abby|…`): part of the automaton,
/// so only a run that starts with one is ever a match.
fn first_names_pattern() -> String {
    let names = FIRST_NAMES.lines().map(str::trim);
    let names = names.filter(|name| !name.is_empty() && !name.starts_with('#'));
    let capitalised = names.map(|name| {
        let (first, rest) = name.split_at(name.chars().next().map_or(0, char::len_utf8));
        regex_syntax_escape(&(first.to_uppercase() + rest))
    });
    capitalised.collect::<Vec<_>>().join("|")
}

/// Words that make a capitalised run a place or a company, not a person (`Nelson Street`,
/// `James River Group`), lower case.
static NOT_SURNAMES: WordList = WordList::new(&[
    "apt",
    "suite",
    "street",
    "st",
    "road",
    "rd",
    "drive",
    "lane",
    "ln",
    "avenue",
    "ave",
    "boulevard",
    "blvd",
    "way",
    "court",
    "courts",
    "ct",
    "place",
    "terrace",
    "square",
    "valley",
    "river",
    "hill",
    "hills",
    "park",
    "bridge",
    "run",
    "trail",
    "crossing",
    "heights",
    "gardens",
    "station",
    "airport",
    "county",
    "city",
    "island",
    "beach",
    "shoal",
    "shoals",
    "neck",
    "radial",
    "group",
    "inc",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "company",
    "co",
    "fund",
    "bank",
    "energy",
    "financial",
    "services",
    "holdings",
    "international",
    "university",
    "college",
    "school",
    "hospital",
    "tech",
    "biotech",
    "capital",
    "partners",
    "systems",
    "software",
    "labs",
    "technologies",
    "solutions",
    "foundation",
    "institute",
    "center",
    "centre",
    "hotel",
    "suite",
    "investment",
    "investments",
    "preferred",
    "acquisition",
    "growth",
    "trust",
    "motors",
    "airlines",
    "pharmaceuticals",
    "resources",
    "industries",
    "media",
    // Products named like people (`Rocky Linux`, `Julia Language`).
    "linux",
    "server",
    "enterprise",
    "edition",
    "cloud",
    "language",
    "platform",
    "studio",
    "client",
    "framework",
    "engine",
    "database",
    "manager",
    "service",
    "network",
    "browser",
]);

/// First names that are also everyday, technical or place words (`Max`, `Grace`, `Rex`,
/// `Travis`, `Denver`): a person's name with a surname after them, never alone.
static NOT_LONE_NAMES: WordList = WordList::new(&[
    "ada",
    "ariel",
    "berry",
    "bud",
    "buddy",
    "carol",
    "chi",
    "chuck",
    "cleveland",
    "cole",
    "coy",
    "cruz",
    "dean",
    "denver",
    "dewey",
    "drew",
    "dusty",
    "ebony",
    "fern",
    "forrest",
    "foster",
    "gay",
    "gene",
    "grace",
    "hal",
    "hazel",
    "heath",
    "hung",
    "israel",
    "ivory",
    "jasper",
    "julia",
    "junior",
    "kelvin",
    "kenya",
    "kip",
    "lacy",
    "lance",
    "laurel",
    "les",
    "mac",
    "marlin",
    "max",
    "mercedes",
    "merlin",
    "mickey",
    "newton",
    "olive",
    "opal",
    "prince",
    "queen",
    "reed",
    "rex",
    "reyes",
    "rocky",
    "royce",
    "sang",
    "son",
    "sonny",
    "tad",
    "travis",
    "trinidad",
    "van",
    "victoria",
    "walker",
    "ward",
]);

/// Words before a first name that make it part of a place's name (`Via Miguel de
/// Cervantes`, `Santa Rosa`, `Rue du Pont Simon`, `North Nicolas`).
static PLACE_PREFIXES: WordList = WordList::new(&[
    "av", "ave", "avenida", "avenue", "calle", "east", "fort", "lake", "mount", "mt", "north",
    "piazza", "plaza", "pont", "port", "rua", "rue", "saint", "san", "santa", "santo", "sao",
    "south", "st", "via", "west",
]);

/// The part of a run of capitalised words from a common first name (`Jennifer Lengyel`,
/// `John K. Carpenter`) that names a person: up to a place's or company's word (`Nelson
/// Street` names nobody), or the first name alone where it stands as a name.
fn known_name(text: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    if after_place_word(text, start) {
        return None;
    }
    // A first name after a capital and an apostrophe is a surname's end (`Neil` of
    // `O'Neil`, `Angelo` of `D'Angelo`): the name is the whole surname.
    let start = match text[..start] {
        [.., before, capital, b'\''] if capital.is_ascii_uppercase() && !word_byte(before) => {
            start - 2
        }
        [capital, b'\''] if capital.is_ascii_uppercase() => start - 2,
        _ => start,
    };
    let mut words =
        text[start..end]
            .split(|b| *b == b' ' || *b == b'\t')
            .scan(start, |at, word| {
                let word_start = *at;
                *at += word.len() + 1;
                Some((word_start, word))
            });
    let (_, first) = words.next()?;
    if start + first.len() == end {
        return (stands_alone(text, start, end) && !in_a_date(text, start, end))
            .then_some((start, end));
    }
    let mut last_end = None;
    for (word_start, word) in words {
        if NOT_SURNAMES.contains_lowered(word) {
            break;
        }
        last_end = Some(word_start + word.len());
    }
    // The pattern ends at an ASCII word boundary, inside a surname that goes on beyond
    // ASCII (`Josu` of `Josué`): the rest of the word is the name's too.
    last_end.map(|last| {
        (
            start,
            if last == end {
                name_word_end(text, end)
            } else {
                last
            },
        )
    })
}

/// Where a word cut at `end` ends, going on through the letters names are matched with
/// (ASCII and the two-byte Latin letters; `é` of `Josué`, `ß` of `Maaß`).
fn name_word_end(text: &[u8], mut end: usize) -> usize {
    loop {
        match text.get(end..) {
            Some([0xC3..=0xC5, 0x80..=0xBF, ..]) => end += 2,
            Some([b, ..]) if b.is_ascii_alphabetic() => end += 1,
            _ => return end,
        }
    }
}

/// Whether the word before `start` makes the name after it a place's (`Via`, `Santa`).
fn after_place_word(text: &[u8], start: usize) -> bool {
    let previous_word = text[..start]
        .trim_ascii_end()
        .rsplit(|b| !b.is_ascii_alphabetic())
        .next();
    previous_word.is_some_and(|word| PLACE_PREFIXES.contains_lowered(word))
}

/// The words that end a street's name (`Midway Road`, `Layman Ave.`) or name a flat, lower
/// case: a number before them is a house number. Not [`NOT_SURNAMES`], whose company and
/// landscape words (`Acme Group`, `Silver Valley`) may well follow a telephone number.
static STREET_WORDS: WordList = WordList::new(&[
    "alley",
    "apt",
    "av",
    "ave",
    "avenue",
    "blvd",
    "boulevard",
    "close",
    "court",
    "crescent",
    "ct",
    "dr",
    "drive",
    "heights",
    "highway",
    "hwy",
    "lane",
    "ln",
    "parkway",
    "pkwy",
    "pl",
    "place",
    "plaza",
    "rd",
    "road",
    "row",
    "sq",
    "square",
    "st",
    "str",
    "street",
    "suite",
    "terrace",
    "way",
]);

/// Words before a number that make it part of an address: a flat's (`Apt. 728 26842`) or a
/// postal code's (`ZIP: 6250-120`).
static ADDRESS_LABELS: WordList = WordList::new(&[
    "apartment",
    "apt",
    "flat",
    "postcode",
    "suite",
    "unit",
    "zip",
    "zipcode",
]);

/// Generic top-level domains that are also the last word of a setting's key
/// (`spring.application.name`, `spring.mail.host`, `logging.file.name`, Java's
/// `-Duser.home=`; `.home` is an internal suffix), lower case: such a
/// dotted name before `=`, or before `:` and no port number, is a key, not a host.
/// Domains a company's own hosts use (`.app`, `.cloud`, `.group`, a country's `.id`) are
/// not here, so an inventory keyed by its hosts (`web01.acme.cloud:`) still has them found.
static KEY_WORD_DOMAINS: WordList = WordList::new(&[
    "data",
    "date",
    "directory",
    "email",
    "events",
    "free",
    "help",
    "home",
    "host",
    "link",
    "map",
    "name",
    "new",
    "page",
    "read",
    "rest",
    "storage",
    "stream",
    "style",
    "zone",
]);

/// Whether `after` (the text after a name) assigns to the name: `=` (a property's
/// `session.timeout.ms=30000`, Kafka's logged `session.timeout.ms = 45000`), or a quoted
/// key's `:` (JSON's `"session.timeout.ms": 30000`). A bare `:` is not enough: a log's
/// `failed to reach api.acme.dev: timeout` names a host.
fn assigned(after: &[u8]) -> bool {
    let after = after.trim_ascii_start();
    match after {
        [b'=', rest @ ..] => rest.first() != Some(&b'='),
        [b'"' | b'\'', rest @ ..] => rest.trim_ascii_start().first() == Some(&b':'),
        _ => false,
    }
}

/// Whether a dotted name assigned to (see [`assigned`]) reads as a setting's key, not a
/// host: words in small letters (`session.timeout.ms`, `log.app`, `spring.cloud`), not a
/// domain's usual last label (`db.acme.com`, `ldap.corp.internal`) nor a host's numbered
/// label (`kafka1.acme.io`).
fn setting_key(name: &[u8]) -> bool {
    static HOST_DOMAINS: WordList = WordList::new(&[
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "int",
        "local",
        "localdomain",
        "internal",
        "intranet",
        "lan",
        "corp",
        "arpa",
    ]);
    let (_, last) = last_label(name);
    name.iter()
        .all(|b| b.is_ascii_lowercase() || b"._-".contains(b))
        && !HOST_DOMAINS.contains(last)
}

/// Whether `after` (the text after a dotted name) makes the name a setting's key: `=`, or
/// `:` and no port number.
fn before_setting(after: &[u8]) -> bool {
    match after.trim_ascii_start() {
        [b'=', ..] => true,
        [b':', rest @ ..] => !rest.first().is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

/// A company's legal form after its name, lower case.
static COMPANY_FORMS: WordList = WordList::new(&[
    "ag",
    "corp",
    "corporation",
    "gmbh",
    "inc",
    "incorporated",
    "limited",
    "llc",
    "ltd",
    "plc",
]);

/// The words that lead a street's name in French, Italian, Spanish and Portuguese
/// addresses, after the house number (`3441 rue Saint-Antoine`, `12 via Roma`, `7 calle
/// Mayor`), lower case.
static LEADING_STREET_WORDS: WordList = WordList::new(&[
    "allee", "avenida", "calle", "carrer", "chemin", "corso", "impasse", "largo", "paseo",
    "piazza", "plaza", "praca", "rua", "rue", "strada", "travessa", "via", "viale",
]);

/// Whether an unlabelled number is part of a postal address: a street's name of at most
/// four capitalised words follows it (`4907 4147 Midway Road`, `212 4199 St. John
/// Street`), or a flat's or a postal code's label comes right before it (`Suite 595 9472
/// 90`, `ZIP: 6250-120`).
fn house_number(before: &[u8], after: &[u8]) -> bool {
    // The word before, on the same line, past blanks and its `.`, `:` or `#`.
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let mut previous =
        &before[..before.len() - before.iter().rev().take_while(|b| blank(b)).count()];
    if let [rest @ .., b'.' | b':' | b'#'] = previous {
        previous = rest;
    }
    let previous = previous.rsplit(|b| !b.is_ascii_alphabetic()).next();
    if previous.is_some_and(|word| ADDRESS_LABELS.contains_lowered(word)) {
        return true;
    }
    // Words on the same line, each after spaces, each capitalised.
    let mut rest = after;
    for words in 0..4 {
        let blanks = rest.iter().take_while(|b| blank(b)).count();
        let spaced = &rest[blanks..];
        if blanks == 0 {
            return false;
        }
        let len = spaced
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let (word, tail) = spaced.split_at(len);
        // A street's name led by its kind of street, in any case (`3441 rue
        // Saint-Antoine`, `12 via Roma`).
        if words == 0 && LEADING_STREET_WORDS.contains_lowered(word) {
            return true;
        }
        if !word.first().is_some_and(u8::is_ascii_uppercase) {
            return false;
        }
        // After a name (`Hammarskjold Dr`); first, it is a title (`Dr. Smith`).
        if words > 0 && STREET_WORDS.contains_lowered(word) {
            return true;
        }
        // Past the word's abbreviating full stop.
        rest = tail.strip_prefix(b".").unwrap_or(tail);
    }
    false
}

/// Whether a first name with no surname (`Susan`, `Sandra's`) is a name: a word of its own,
/// not inside a hyphenated or non-ASCII word (`Saint-Antoine`), an address or a dotted name
/// (`Daniel.java`), and not also an everyday word (`Max`).
fn stands_alone(text: &[u8], start: usize, end: usize) -> bool {
    let glued = |b: Option<&u8>| b.is_some_and(|b| *b >= 0x80 || b"-@/\\".contains(b));
    let before = start.checked_sub(1).and_then(|i| text.get(i));
    let after = text.get(end);
    let dotted = after == Some(&b'.') && text.get(end + 1).is_some_and(u8::is_ascii_alphanumeric);
    !glued(before)
        && !glued(after)
        && !dotted
        && !NOT_LONE_NAMES.contains_lowered(&text[start..end])
}

/// Whether a number is a standard's (`IEEE 754-2019`, `ISO 8601-1:2019`, `RFC 5322`) or a
/// range of a quantity (`keys of 2048-8192 bits`): its standards body's name before it, or
/// a unit after it.
fn standard_or_quantity(before: &[u8], after: &[u8]) -> bool {
    const BODIES: [&[u8]; 8] = [
        b"IEEE", b"ISO", b"IEC", b"ANSI", b"RFC", b"ECMA", b"ITU-T", b"DIN",
    ];
    const UNITS: [&[u8]; 10] = [
        b"bits", b"bytes", b"ms", b"seconds", b"secs", b"KB", b"MB", b"GB", b"Hz", b"MHz",
    ];
    let word_before = before
        .trim_ascii_end()
        .rsplit(|b| b.is_ascii_whitespace() || *b == b'/')
        .next()
        .unwrap_or_default();
    let word_after = after
        .strip_prefix(b" ")
        .unwrap_or_default()
        .split(|b| !b.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default();
    BODIES.contains(&word_before) || UNITS.contains(&word_after)
}

/// Whether the word at `start..end` is a month's or a day's name with a number beside it:
/// `Jan` of `Fri, 08 Jan 2021`, `Sat Jan 30 06:09:00 1999` or `Revert 3 Jan change` is a
/// date's, not the first name it also is (`Jan said so` is a name).
fn in_a_date(text: &[u8], start: usize, end: usize) -> bool {
    if !CALENDAR_WORDS.contains_lowered(&text[start..end]) {
        return false;
    }
    let before = text[..start].trim_ascii_end();
    let before = before.strip_suffix(b",").unwrap_or(before).trim_ascii_end();
    let after = &text[end..];
    let after = after.strip_prefix(b".").unwrap_or(after).trim_ascii_start();
    before.last().is_some_and(u8::is_ascii_digit) || after.first().is_some_and(u8::is_ascii_digit)
}

/// A word of a person's name found in full, looked for where it stands alone in the same
/// text (`Raman confirmed the fix` after `From: Priya Raman`): three letters or more, a
/// capital first (as the name patterns find them: `O'Neil-Byrne`, not `Tom\u00e1s`), and
/// no word the name lists turn away (`Team`, `Lane`, `Ltd`) nor a greeting's or
/// signature's (`Thanks`, which a name beside an email can take in: `Thanks Thomas Morin
/// <t@x>`).
fn name_part(word: &[u8]) -> bool {
    let capital = word
        .first()
        .is_some_and(|b| b.is_ascii_uppercase() || *b >= 0xC3);
    capital
        && word.len() >= 3
        && word[1..].iter().all(|b| name_byte(*b))
        && !NOT_NAMES.contains(word)
        && !NOT_NAME_PARTS.contains_lowered(word)
}

/// A byte a word of a name goes on in after its capital: a letter, a byte of a letter
/// beyond ASCII, an apostrophe or a hyphen (`O'Neil-Byrne`).
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphabetic() || b >= 0x80 || b"'-".contains(&b)
}

/// The lists of words no word of a name is, lower case (with [`SIGNATURE_CLOSES`]).
static NOT_NAME_LISTS: [&WordList; 9] = [
    &NOT_LONE_NAMES,
    &NOT_SURNAMES,
    &NOT_NAME_STARTS,
    &ARTICLES,
    &COMPANY_FORMS,
    &STREET_WORDS,
    &ADDRESS_LABELS,
    &CALENDAR_WORDS,
    &GREETINGS,
];

/// Every word of [`NOT_NAME_LISTS`] and [`SIGNATURE_CLOSES`] in one list: a word of every
/// name found is checked against them all, and ten searches cost ten times one.
static NOT_NAME_PARTS: WordList = WordList::union(&SIGNATURE_CLOSES, &NOT_NAME_LISTS);

/// Days and months, in full and short, lower case: a first name or a surname that is also
/// one (`Sun`, `May`, `April`) is not looked for alone, where it is most often a date's.
static CALENDAR_WORDS: WordList = WordList::new(&[
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]);

/// Capitalised words a name beside an email address can begin with that are no part of it:
/// a header's or a changelog's (`From Tom Smith <…>`, `Add Fergus Henderson <…>`).
static LEADING_NOT_NAMES: WordList = WordList::new(&["From", "To", "Cc", "Add", "By"]);

/// Words that open a letter or a greeting, lower case; the words that close one are
/// [`SIGNATURE_CLOSES`].
static GREETINGS: WordList = WordList::new(&["dear", "hello", "hey", "hi", "thank"]);

/// Whether `word` opens or closes a letter (`Hi`, `Dear`, `Thanks`, `Regards`), in any case.
fn greeting_word(word: &[u8]) -> bool {
    GREETINGS.contains_lowered(word)
        || SIGNATURE_CLOSES
            .iter()
            .any(|close| word.eq_ignore_ascii_case(close.as_bytes()))
}

/// The words of the person names among `findings` (each of `text`) that are looked for
/// where they stand alone (see [`name_part`]).
pub(crate) fn name_words<'t, 'f>(
    text: &'t [u8],
    findings: &'f [Finding],
) -> impl Iterator<Item = &'t [u8]> + use<'t, 'f> {
    findings
        .iter()
        .filter(|f| f.kind == Kind::PersonName)
        .flat_map(move |f| text[f.start..f.end].split(|b| *b == b' ' || *b == b'\t'))
        .filter(|word| name_part(word))
}

/// Up to how many words one automaton of [`NameWords`] is a DFA (faster, but larger):
/// a text's own names.
const NAME_WORDS_DFA: usize = 5_000;

/// Words of person names, each once: a text's own, found by one automaton
/// as written and in small letters (an everyday word), or those learned from a whole
/// input, looked up where a word starts.
pub(crate) enum NameWords {
    /// Case-insensitive, to find the words' small forms: only a text's own decide that a
    /// word is an everyday one (see [`NameWords::alone_in`]).
    Own {
        words: Vec<Box<[u8]>>,
        searcher: aho_corasick::AhoCorasick,
    },
    /// Looked up only at the capitals that start a word, a few in a hundred bytes: an
    /// automaton of a bundle's thousands of words walked every byte of every text, a
    /// sixth of a whole run on changelogs and source code. A fast hasher: the words come
    /// from the input, but a crafted one can only slow the lookups down.
    Learned {
        words: std::collections::HashSet<Box<[u8]>, foldhash::fast::RandomState>,
        /// A bit per pair of first bytes a word starts with: most capitals of a log
        /// (`INFO`, `GET`, a class's name) start none, and cost no lookup.
        pairs: Box<[u64; 1024]>,
        /// The longest word's length: no run longer is looked up.
        longest: usize,
    },
}

impl NameWords {
    /// A text's own words: those it also writes in small letters outside a finding are
    /// everyday words there. `None` for no words (or an automaton too large to build).
    fn own(mut words: Vec<Box<[u8]>>) -> Option<Self> {
        // In order, so that the automaton (and the order of equal matches) is the same
        // whatever order the words were met in.
        words.sort_unstable();
        words.dedup();
        if words.is_empty() {
            return None;
        }
        let kind = if words.len() <= NAME_WORDS_DFA {
            aho_corasick::AhoCorasickKind::DFA
        } else {
            aho_corasick::AhoCorasickKind::ContiguousNFA
        };
        let searcher = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .ascii_case_insensitive(true)
            .kind(Some(kind))
            .build(&words)
            .ok()?;
        Some(Self::Own { words, searcher })
    }

    /// Words learned from a whole input, that the learning left out where the input writes
    /// them in small letters anywhere: found as written only (`ken` of `token` is no
    /// match). `None` for no words.
    pub(crate) fn learned(words: Vec<Box<[u8]>>) -> Option<Self> {
        let longest = words.iter().map(|w| w.len()).max()?;
        let mut pairs = Box::new([0u64; 1024]);
        for word in &words {
            let pair = pair_index(word);
            pairs[pair / 64] |= 1 << (pair % 64);
        }
        Some(Self::Learned {
            words: words.into_iter().collect(),
            pairs,
            longest,
        })
    }

    /// Whether `word` is one of the learned words.
    fn holds(&self, word: &[u8]) -> bool {
        matches!(self, Self::Learned { words, .. } if words.contains(word))
    }

    /// Where each word stands alone in `text` as a name, outside `findings` (which are
    /// in order), in order: as written, a whole word, beside no capitalised word or
    /// number, and not a word `text` also uses in small letters outside a finding.
    fn alone_in(&self, text: &[u8], findings: &[Finding]) -> Vec<(usize, usize)> {
        let (words, searcher) = match self {
            Self::Own { words, searcher } => (words, searcher),
            Self::Learned {
                words,
                pairs,
                longest,
            } => return learned_alone_in(words, pairs, *longest, text, findings),
        };
        let mut everyday = vec![false; words.len()];
        let mut alone = Vec::new();
        let mut taken = Taken::new(findings);
        for m in searcher.find_iter(text) {
            let (start, end, word) = (m.start(), m.end(), m.pattern().as_usize());
            if taken.overlaps(start, end) {
                continue;
            }
            if text[start].is_ascii_lowercase() {
                everyday[word] |= whole_word(text, start, end);
            } else if text[start..end] == *words[word]
                && whole_word(text, start, end)
                && no_capital_beside(text, start, end)
            {
                alone.push((start, end, word));
            }
        }
        alone
            .into_iter()
            .filter(|&(_, _, word)| !everyday[word])
            .map(|(start, end, _)| (start, end))
            .collect()
    }
}

/// The index of the first two bytes of `bytes` (a byte and a zero for one byte) in a bit
/// set of pairs.
fn pair_index(bytes: &[u8]) -> usize {
    usize::from(bytes[0]) << 8 | usize::from(bytes.get(1).copied().unwrap_or(0))
}

/// Findings in order, and whether spans met in order of their start overlap one: one
/// cursor over the findings answers for all of them.
pub(crate) struct Taken<'f> {
    findings: &'f [Finding],
    cursor: usize,
}

impl<'f> Taken<'f> {
    pub(crate) fn new(findings: &'f [Finding]) -> Self {
        Self {
            findings,
            cursor: 0,
        }
    }

    /// Whether `start..end` overlaps a finding; no span may start before the last one
    /// asked about.
    pub(crate) fn overlaps(&mut self, start: usize, end: usize) -> bool {
        let findings = self.findings;
        while self.cursor < findings.len() && findings[self.cursor].end <= start {
            self.cursor += 1;
        }
        findings.get(self.cursor).is_some_and(|f| f.start < end)
    }
}

/// [`NameWords::alone_in`] for learned words. A word of a name starts with a capital (or a
/// letter beyond ASCII) and goes on in [`name_byte`]s: at each such
/// byte that starts a word, the longest learned word there is the run of those bytes, or
/// the run up to one of its apostrophes (`Raman` of `Raman's`); only there can a word end
/// and be whole.
fn learned_alone_in(
    words: &std::collections::HashSet<Box<[u8]>, foldhash::fast::RandomState>,
    pairs: &[u64; 1024],
    longest: usize,
    text: &[u8],
    findings: &[Finding],
) -> Vec<(usize, usize)> {
    let capitals = crate::scan::bitmap(text, |b| b.upper | (b.lead & b.high));
    let mut alone = Vec::new();
    let mut taken = Taken::new(findings);
    let mut at = 0;
    while let Some(start) = crate::scan::next(&capitals, at, true) {
        at = start + 1;
        let pair = pair_index(&text[start..]);
        if pairs[pair / 64] & (1 << (pair % 64)) == 0 || !starts_word(text, start) {
            continue;
        }
        let run = &text[start..text.len().min(start + longest + 1)];
        let run_end = run.iter().position(|b| !name_byte(*b)).unwrap_or(run.len());
        let apostrophes = run[..run_end].iter().enumerate().rev();
        let ends = std::iter::once(run_end)
            .chain(apostrophes.filter_map(|(i, b)| (*b == b'\'').then_some(i)));
        let Some(end) = ends
            .map(|len| start + len)
            .find(|&end| words.contains(&text[start..end]))
        else {
            continue;
        };
        at = end;
        if taken.overlaps(start, end) {
            continue;
        }
        if ends_word(text, end) && no_capital_beside(text, start, end) {
            alone.push((start, end));
        }
    }
    alone
}

/// The findings of every word of a person's name found in full (`Priya Raman`, or `Naile`
/// after `Hi`) where it stands alone elsewhere in `text`, outside `findings` (which are in
/// order), in order; with `learned`, also of every word a first pass found in a name
/// anywhere in the input. Only the text itself is evidence, so a word counts only where
/// it reads as a name: as written (`Raman`, not `RAMAN`), a whole word (not `Ramanathan`,
/// `Raman.java`, `Raman(`, `Don't`), beside no other capitalised word or number (`Kayne
/// Anderson Energy`, `42 Nelson Street`, `North Nicolas`), and never where the text also
/// uses it as an everyday word in small letters (`mark`, `add`, `option`: a changelog's
/// `Mark Brand <…>` leaves `Mark the test as flaky` alone) — outside a finding: the
/// account `raman` of `user raman` is no everyday word.
pub(crate) fn name_parts_alone(
    text: &[u8],
    findings: &[Finding],
    learned: Option<&NameWords>,
) -> Vec<Finding> {
    // The text's own words the first pass did not learn (it learns all of them, up to
    // its bound): one automaton of their own.
    let own: Vec<Box<[u8]>> = name_words(text, findings)
        .filter(|word| !learned.is_some_and(|l| l.holds(word)))
        .map(Box::from)
        .collect();
    let own = NameWords::own(own);
    let mut spans: Vec<(usize, usize)> = [learned, own.as_ref()]
        .into_iter()
        .flatten()
        .flat_map(|words| words.alone_in(text, findings))
        .collect();
    if learned.is_some() && own.is_some() {
        // Two automata may find overlapping words (`O'Neil`, `Neil`): the leftmost, then
        // the longest, as one automaton would.
        spans.sort_unstable_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
        let mut last_end = 0;
        spans.retain(|&(start, end)| {
            let keep = start >= last_end;
            last_end = last_end.max(end);
            keep
        });
    }
    spans
        .into_iter()
        .map(|(start, end)| Finding {
            start,
            end,
            kind: Kind::PersonName,
            category: Category::Contact,
            confidence: 0.6,
            reason: "part of a person's name found in full elsewhere in the input",
        })
        .collect()
}

/// The run of bytes `member` accepts around `text[at]`, as start..end.
pub(crate) fn run_around(
    text: &[u8],
    at: usize,
    member: impl Fn(&u8) -> bool,
) -> std::ops::Range<usize> {
    let start = text[..at]
        .iter()
        .rposition(|b| !member(b))
        .map_or(0, |p| p + 1);
    let end = text[at..]
        .iter()
        .position(|b| !member(b))
        .map_or(text.len(), |p| at + p);
    start..end
}

/// Whether `text[start..end]` is a word of its own: not glued to letters, digits or the
/// marks of paths, addresses and code on either side (`xRaman`, `@Raman`, `Raman.java`,
/// `Raman::new`, `Raman(`, `Raman<T>`), nor an apostrophe's letters after it (`Don't`;
/// `Raman's` is his). A word right after an escaped line break (`\nRaman`) starts there.
pub(crate) fn whole_word(text: &[u8], start: usize, end: usize) -> bool {
    starts_word(text, start) && ends_word(text, end)
}

/// Letters, digits and the marks of paths and addresses: a word glued to one on either
/// side is part of something longer.
fn glued(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || b"_-@/\\`".contains(&b)
}

/// Whether a word of its own may start at `text[start]` (see [`whole_word`]).
fn starts_word(text: &[u8], start: usize) -> bool {
    start == 0
        || escape_letter(text, start - 1)
        || !(glued(text[start - 1]) || b".:$&#<".contains(&text[start - 1]))
}

/// Whether a word of its own may end before `text[end]` (see [`whole_word`]).
fn ends_word(text: &[u8], end: usize) -> bool {
    let after = |i: usize| text.get(end + i).copied();
    match after(0) {
        None => true,
        Some(b'.' | b':') => !after(1).is_some_and(|b| b.is_ascii_alphanumeric() || b == b':'),
        Some(b'\'') => {
            after(1) == Some(b's') && !after(2).is_some_and(|b| b.is_ascii_alphanumeric())
                || !after(1).is_some_and(|b| b.is_ascii_alphabetic())
        }
        Some(b) => !glued(b) && !b"(<[{=".contains(&b),
    }
}

/// Whether the words either side of `text[start..end]` on its line (past spaces and tabs)
/// start with neither a capital nor a digit: a capitalised word beside it makes it part of
/// a longer proper name (`White Stripes`, `United Kingdom`, `Emma Terrace`) or an address
/// (`42 Nelson`). A time or a date is no house number: a chat's or a log's line starts
/// with one (`10:02 Raman: done`, `[2026-12-04 10:02] Raman:`).
fn no_capital_beside(text: &[u8], start: usize, end: usize) -> bool {
    let capital = |word: &[u8]| {
        let word = word.strip_prefix(b"[").unwrap_or(word);
        !time_or_date(word)
            && word
                .iter()
                .find(|b| !b"(\"'[".contains(b))
                .is_some_and(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b >= 0xC3)
    };
    let before = &text[..start];
    let gap = before.len() - before.trim_ascii_end().len();
    let previous = (gap > 0 && !before[before.len() - gap..].contains(&b'\n')).then(|| {
        let trimmed = &before[..before.len() - gap];
        let from = trimmed
            .iter()
            .rposition(u8::is_ascii_whitespace)
            .map_or(0, |p| p + 1);
        &trimmed[from..]
    });
    let after = &text[end..];
    let gap = after.len() - after.trim_ascii_start().len();
    // The next word's first bytes are all it takes.
    let next = (gap > 0 && !after[..gap].contains(&b'\n')).then(|| &after[gap..]);
    !previous.is_some_and(capital) && !next.is_some_and(capital)
}

/// Whether `text` starts with a time of day (`10:02`, `9:15:30`) or an ISO date
/// (`2026-12-04`).
fn time_or_date(text: &[u8]) -> bool {
    // `d` a digit, any other byte itself.
    let shaped = |shape: &[u8]| {
        text.get(..shape.len()).is_some_and(|start| {
            start.iter().zip(shape).all(|(b, s)| match s {
                b'd' => b.is_ascii_digit(),
                _ => b == s,
            })
        })
    };
    shaped(b"dd:dd") || shaped(b"d:dd") || shaped(b"dddd-dd-dd")
}

/// How far back a local part or host label is followed (a local part is at most 64
/// characters, each at most six bytes as a JSON escape).
const WIDEN_BYTES: usize = 400;

/// Where an email's local part or a host's first label really starts when letters beyond
/// ASCII come before the pattern's (ASCII) start: raw UTF-8 (`tomás@`) or JSON escapes
/// (`tom\u00e1s@`, which the pattern meets at its `u`). Replacing from the pattern's start
/// would leave the name's beginning in clear and, in JSON, break the escape.
fn widen_start(text: &[u8], start: usize, punctuation: &[u8]) -> usize {
    // A `\uXXXX` escape starting at `at`, its backslash not itself escaped.
    let unicode_escape = |at: usize| {
        text.get(at..at + 6).is_some_and(|e| {
            e[0] == b'\\' && e[1] == b'u' && e[2..].iter().all(u8::is_ascii_hexdigit)
        }) && escaped(text, at + 1)
    };
    let mut at = start;
    if at > 0 && unicode_escape(at - 1) {
        at -= 1;
    } else if !(at > 0 && text[at - 1] >= 0x80) {
        return start;
    }
    let floor = start.saturating_sub(WIDEN_BYTES);
    while at > floor {
        if at >= 6 && unicode_escape(at - 6) {
            at -= 6;
            continue;
        }
        let b = text[at - 1];
        if b >= 0x80 || b.is_ascii_alphanumeric() || punctuation.contains(&b) {
            at -= 1;
        } else {
            break;
        }
    }
    at
}

fn confirm(check: Check, text: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    // An address or host right after an escape starts after the escape's letter: taking
    // the letter with it would leak nothing but break the escape (`\njane@…` must not
    // become `\user-…`, which is no JSON).
    let start = match check {
        Check::Email => widen_start(text, start, b"._%+-"),
        Check::Hostname => widen_start(text, start, b"-"),
        _ => start,
    };
    let start = if matches!(check, Check::Email | Check::Hostname) && escape_letter(text, start) {
        start + 1
    } else {
        start
    };
    if start >= end {
        return None;
    }
    let value = &text[start..end];
    let before = start.checked_sub(1).map(|i| text[i]);
    let after = &text[end..];
    let ok = match check {
        Check::None => true,
        Check::PemBlock => {
            let window = &text[end..text.len().min(end + PEM_BLOCK_BYTES)];
            // The END line names what the BEGIN line did.
            let marker: &[u8] = if value.ends_with(b"BLOCK-----") {
                b"PRIVATE KEY BLOCK-----"
            } else if value.ends_with(b"V1-----") {
                b"Static key V1-----"
            } else {
                b"PRIVATE KEY-----"
            };
            let end_at = find(window, b"-----END ")?;
            let close = find(&window[end_at..], marker)?;
            return Some((start, end + end_at + close + marker.len()));
        }
        // A key's value already ends at an escaped line break (`SECRET_CHAR`).
        Check::Base64PemKey => {
            use base64::Engine;
            let head = &value[..value.len().min(64) / 4 * 4];
            base64::engine::general_purpose::STANDARD
                .decode(head)
                .is_ok_and(|pem| find(&pem, b"PRIVATE KEY").is_some())
        }
        // A PEM block after a secret's key (a service account's `"private_key": "-----BEGIN
        // PRIVATE KEY-----\n…"`) is the block's detector's, whole: the search goes on at it.
        Check::Secret if value.starts_with(b"-----BEGIN") => false,
        Check::Secret | Check::Netrc | Check::Pgpass => {
            value.len() <= MAX_VALUE_BYTES
                && secret_value(value)
                && !working_directory(&text[..start], value)
                && !assigns_a_variable(&text[..start], value, after)
                && !declares_a_type(&text[..start], value, after)
                && !calls_code(&text[..start], value, after)
                && !test_status(&text[..start])
                && (!names_a_secret_id(&text[..start]) || random_secret(value))
        }
        Check::RandomSecret => random_secret(value),
        Check::KubeLiteral => {
            // The command's line, as far back as a long one reaches and no further: a
            // line of literals without a command would read its whole text again at each.
            let floor = start.saturating_sub(KUBE_COMMAND_BYTES);
            let command =
                &text[line_start(text, start, KUBE_COMMAND_BYTES).unwrap_or(floor)..start];
            secret_value(value)
                && find(command, b"kubectl").is_some()
                && find(command, b" secret ").is_some()
        }
        Check::SessionToken => random_secret(value) && !value.starts_with(b"S-1-"),
        Check::SshDestination => destination_parts(text, start, end).is_some(),
        Check::NetUse => {
            command_before(text, start) == Some(Command::NetUse)
                && net_use_parts(text, start, end)[1].is_some()
        }
        Check::RedisAcl => {
            let line = line_start(text, start, DEVICE_LINE)?;
            let line = text[line..start].trim_ascii_start();
            // The command after redis-cli's prompt (`127.0.0.1:6379> ACL SETUSER`).
            let sets_user = line.starts_with(b"user ")
                || find(&line.to_ascii_lowercase(), b"acl setuser ").is_some();
            sets_user && secret_value(value)
        }
        Check::Email => {
            let at = value.iter().position(|b| *b == b'@')?;
            validate::site_name(&value[at + 1..])
        }
        Check::EncodedEmail => {
            let at = find(value, b"%40")?;
            validate::site_name(&value[at + 3..])
        }
        Check::Name => {
            // A name beside an email address can take in the word before it: a greeting,
            // a header's or a changelog's (`Thanks Thomas Morin <…>`, `From Tom Smith <…>`,
            // `Add Fergus Henderson <…>`); the name starts after it.
            let mut start = start;
            if let Some(space) = text[start..end]
                .iter()
                .position(|b| *b == b' ' || *b == b'\t')
            {
                let first = &text[start..start + space];
                if greeting_word(first) || LEADING_NOT_NAMES.contains(first) {
                    start += space + 1;
                }
            }
            let value = &text[start..end];
            // A title's or greeting's name runs on into an address (`Mrs. Nurzhan Vizirov
            // Apt. 728`): it ends before a flat's word (not before a street's, which can
            // be a surname: `Iain Lane`).
            let mut end = end;
            while let Some(space) = text[start..end]
                .iter()
                .rposition(|b| *b == b' ' || *b == b'\t')
            {
                if !ADDRESS_LABELS.contains_lowered(&text[start + space + 1..end]) {
                    break;
                }
                end = start + space;
            }
            // A signature's name stands on the line below its close (`Thanks,\n`).
            let line_start = text[..start]
                .iter()
                .rposition(|b| *b != b' ' && *b != b'\t')
                .map_or(0, |last| last + 1);
            let signature =
                text[..line_start].ends_with(b"\n") || text[..line_start].ends_with(br"\n");
            if signature && heads_a_field(&text[end..]) {
                return None;
            }
            // A word cut where it goes on (`Html` of `HtmlNameOrMarkup`, `Rfc` of
            // `Rfc2822`) is an identifier's, no name's.
            let cut = text.get(end).is_some_and(u8::is_ascii_alphanumeric);
            // Surname first (`Kowalski, Maria`), every word a name's, as after a label.
            let surname_first = value.contains(&b',');
            return (may_be_name(value)
                && (!surname_first || names_a_person(value))
                && !opens_code(&text[end..])
                && !cut
                && !names_a_thing(&text[..start]))
            .then_some((start, end));
        }
        Check::KnownName => return known_name(text, start, end),
        Check::LabelledName => {
            // `systemd-user: Update Translations` is a changelog's subsystem, no label.
            let label = label_before(&text[..start])?;
            let word = label.len()
                - label
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_alphabetic())
                    .count();
            let glued = label[..word].last().is_some_and(|b| b"-_./".contains(b));
            !glued && names_a_person(value)
        }
        // A list's first name; the others are read by `list_names`.
        Check::HandoffName | Check::ListName => names_a_person(value),
        Check::FieldName => {
            // An element's closing tag is no type's parameters; a member after the word
            // makes it code's (`first_name = Faker.first_name()`).
            let after = &text[end..];
            let member =
                after.first() == Some(&b'.') && after.get(1).is_some_and(u8::is_ascii_alphabetic);
            // A form's or a locale file's label for the field (`first_name: First name`,
            // `surname: "Surname"`) is no one's name.
            let first = value.split(|b| *b == b' ').next().unwrap_or(value);
            names_a_person(value)
                && !FIELD_TYPES.contains_lowered(value)
                && !PERSON_FIELD_WORDS.contains_lowered(first)
                && !member
                && (after.starts_with(b"</") || !opens_code(after))
        }
        Check::InitialName => {
            let mut words = value.split(|b| *b == b' ' || *b == b'\t');
            let (initial, last) = (words.nth(1)?, words.next()?);
            // Without its full stop, `A` and `I` are words and `V` and `X` numerals.
            let word = initial.len() == 1 && b"AIVX".contains(&initial[0]);
            // A surname that goes on beyond ASCII (`Josué`) is taken whole; one that goes
            // on beyond the letters names are matched with, not at all.
            let end = name_word_end(text, end);
            let ok = !word
                && may_be_name(value)
                && !NOT_SURNAMES.contains_lowered(last)
                && !after_place_word(text, start)
                && text.get(end).is_none_or(u8::is_ascii);
            return ok.then_some((start, end));
        }
        // The broadcast address, an unset one and the well-known multicast groups
        // (IPv4's `01:00:5e:…`, IPv6's `33:33:…`, the bridges' `01:80:c2:…`, Cisco's
        // `01:00:0c:…`) name no device.
        Check::Mac => {
            // The address's twelve hexadecimal digits, in small letters.
            let mut digits = [0u8; 12];
            let mut len = 0;
            for b in value.iter().filter(|b| b.is_ascii_hexdigit()).take(12) {
                digits[len] = b.to_ascii_lowercase();
                len += 1;
            }
            let hex = &digits[..len];
            let protocol = hex.iter().all(|b| *b == b'f')
                || hex.iter().all(|b| *b == b'0')
                || [&b"01005e"[..], b"3333", b"0180c2", b"01000c"]
                    .iter()
                    .any(|prefix| hex.starts_with(prefix));
            (value.len() != 14 || value.iter().any(|b| b.is_ascii_alphabetic())) && !protocol
        }
        Check::Ipv6 => {
            let glued = before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'.')
                && !escape_letter(text, start - 1);
            // A path in code, not an address: a word or another `::` after it (`DBD::Pg`,
            // `a::b::c`, `fe80::12345`), both letter cases in it (`Cafe::`, `Face::Bad`),
            // or single letters alone (`c::`, `E::A`).
            let path = after.first().is_some_and(|b| word_byte(*b))
                || after.starts_with(b"::")
                // A path's generic arguments or a group it imports (`f32::<u8>`,
                // `core::{`).
                || (value.ends_with(b"::") && after.first().is_some_and(|b| b"<{".contains(b)))
                || (value.iter().any(u8::is_ascii_uppercase)
                    && value.iter().any(u8::is_ascii_lowercase))
                || value
                    .split(|b| *b == b':')
                    .all(|group| group.len() <= 1 && !group.iter().any(u8::is_ascii_digit));
            // A multicast group (`ff02::1`, all of a link's nodes) names no host.
            !glued && !path && validate::ipv6(value).is_some_and(|a| !a.is_multicast())
        }
        // A subnet's mask (`255.255.255.0`) or an ACL's wildcard (`0.0.0.255`) is the
        // network's shape an engineer reads, and no one's address.
        Check::Ipv4 => validate::ipv4(value, before, after).is_some_and(|address| {
            let bits = u32::from(address);
            let mask =
                |m: u32| m.leading_ones() >= 8 && m.leading_ones() + m.trailing_zeros() == 32;
            let wildcard = bits.trailing_ones() >= 2 && mask(!bits);
            // A multicast group (`224.0.0.251`, mDNS) names no host either.
            !(mask(bits) || wildcard || address.is_multicast())
        }),
        Check::Card => validate::payment_card(value),
        Check::LabelledCard => validate::labelled_card(value),
        Check::Iban => validate::iban(value),
        Check::Ssn => validate::us_ssn(value),
        Check::Nino => validate::uk_nino(value),
        Check::Bsn => validate::nl_bsn(value),
        Check::Sin => validate::ca_sin(value),
        Check::Aadhaar => validate::in_aadhaar(value),
        Check::Phone | Check::LabelledPhone => {
            // After a label, the label has said what the number is: it may follow a colon
            // (`Phone:0477 82 93 97`), take any grouping and stand before a street's name.
            let labelled = check == Check::LabelledPhone;
            // An extension (`x549`, `ext.12`) is matched with the number but not part of it.
            let end = start
                + value
                    .iter()
                    .position(u8::is_ascii_alphabetic)
                    .unwrap_or(value.len());
            let (value, after) = (&text[start..end], &text[end..]);
            let extension = after.first().is_some_and(u8::is_ascii_alphabetic);
            // A SIP or telephone address's number (`sip:+14155550123@sbc.acme.com`).
            let scheme = before == Some(b':') && {
                // The word before the colon, read within its last six bytes.
                let head = &text[start.saturating_sub(6)..start - 1];
                let word = &head[head
                    .iter()
                    .rposition(|b| !b.is_ascii_alphabetic())
                    .map_or(0, |p| p + 1)..];
                (word.len() < head.len() || start < 6)
                    && [&b"sip"[..], b"sips", b"tel"]
                        .iter()
                        .any(|s| word.eq_ignore_ascii_case(s))
            };
            let glued_before = !labelled
                && !scheme
                && before.is_some_and(|b| b.is_ascii_alphanumeric() || b"._-:/#=".contains(&b))
                && !escape_letter(text, start - 1);
            let glued_after = !extension
                && after
                    .first()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b"_:/".contains(b));
            // A sentence may end right after a number; a version or an address goes on.
            let continues =
                after.first() == Some(&b'.') && after.get(1).is_some_and(u8::is_ascii_alphanumeric);
            let valid = if labelled {
                validate::labelled_phone(value)
            } else {
                validate::phone(value)
            };
            // A number of another kind: a house's, a ZIP code, a standard's, a quantity's.
            let other = !labelled
                && (house_number(&text[..start], after)
                    || validate::zip_code(&text[..start], value)
                    || standard_or_quantity(&text[..start], after));
            let ok = !glued_before && !glued_after && !continues && !other && valid;
            return ok.then_some((start, end));
        }
        Check::DirectoryName => {
            let container = DIRECTORY_CONTAINERS
                .iter()
                .any(|c| value.eq_ignore_ascii_case(c.as_bytes()));
            return (!container)
                .then(|| confirm(Check::Username, text, start, end))
                .flatten();
        }
        Check::Username => {
            if value.len() > 64 || std::str::from_utf8(value).is_err() {
                return None;
            }
            // A file's name (`/home/index.js` in a trace of a script run from `/home`).
            let file = matches!(
                last_label(value),
                (Some(_), extension) if validate::file_extension(extension)
            );
            // A label's word after a bare keyword (`Logon Type:`, `Logon Process:`, `User
            // Name:`), not an account (`user alice: denied` still is one).
            let bare_keyword = text[..start]
                .trim_ascii_end()
                .last()
                .is_some_and(u8::is_ascii_alphabetic);
            let label = bare_keyword
                && value.first().is_some_and(u8::is_ascii_uppercase)
                && after.first() == Some(&b':');
            // A key of its own after a bare keyword: a log's next field (`action=login
            // ip=203.0.113.45`), or a heading before a value or a block (`az login
            // output: {…}`), where an account would go on with prose (`user alice:
            // denied`).
            let key = bare_keyword
                && match after {
                    [b'=', ..] => true,
                    [b':', rest @ ..] => matches!(
                        rest.iter().find(|b| !matches!(b, b' ' | b'\t')),
                        None | Some(b'{' | b'[' | b'\r' | b'\n')
                    ),
                    _ => false,
                };
            // A Windows domain before its account (`"user": "CORP\\jdoe"`): the account is
            // the domain detector's, which the search reaches next.
            let domain = after.first() == Some(&b'\\')
                && value
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-');
            // An account in angle brackets (Dovecot's `user=<jdoe>`) closes them: `Login:
            // <input …>` is markup.
            let unclosed = text[..start].last() == Some(&b'<') && after.first() != Some(&b'>');
            // A placeholder (`user=<your_username>`, `login: yourname`).
            let placeholder = value.len() >= 4 && value[..4].eq_ignore_ascii_case(b"your");
            !NOT_USERNAMES.contains_lowered(value)
                && !unclosed
                && !placeholder
                && !label
                && !key
                && !domain
                && !file
                && !value.iter().all(u8::is_ascii_digit)
                && !prose_user(&text[..start])
                && !sentence_after_label(&text[..start], value, after)
                // `"user": "judy@acme.com"`: an email's local part, found as the email.
                && after.first() != Some(&b'@')
                // An attribute's name (`<user username="tomcat"`), not its value.
                && !(after.first() == Some(&b'=') && matches!(after.get(1), Some(b'"' | b'\'')))
                && after.first().is_none_or(u8::is_ascii)
                && !contraction(after)
                && !starts_a_date(value, after)
        }
        Check::DomainUser => {
            let separator = text[..start]
                .iter()
                .rev()
                .take_while(|b| **b == b'\\')
                .count();
            let domain_end = start - separator;
            let domain_start = text[..domain_end]
                .iter()
                .rposition(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-'))
                .map_or(0, |p| p + 1);
            let domain = &text[domain_start..domain_end];
            // `net use`'s and `runas`' `/user:CORP\jdoe` is an account, not a path's folder.
            let before = &text[..domain_start];
            let switch = [&b"/user:"[..], b"/u:"].iter().any(|switch| {
                before.len() >= switch.len()
                    && before[before.len() - switch.len()..].eq_ignore_ascii_case(switch)
            });
            let in_path = !switch
                && domain_start
                    .checked_sub(1)
                    .is_some_and(|p| b"\\/:.-_%$".contains(&text[p]));
            let system = SYSTEM_DOMAINS.iter().any(|d| domain == d.as_bytes())
                || value.eq_ignore_ascii_case(b"system");
            // A string's escape after a word in capitals (`"GET\n/ HTTP"`, `"ABCDE\nFG"`,
            // `"DZ\u{0323}"`), not an account.
            let escape = separator == 1
                && b"nrtuxbfv0e".contains(&value[0])
                && (value.len() == 1
                    || value[1].is_ascii_uppercase()
                    || value[1].is_ascii_digit()
                    || after.first() == Some(&b'{'));
            if in_path || system || escape || value.len() < 2 {
                return None;
            }
            return confirm(Check::Username, text, start, end);
        }
        Check::HostLabel => {
            // A host's own name holds a digit or a hyphen (`WS-JDOE-0142`, `DC01`), or is
            // written in capitals as Windows writes its names (`FILESRV`); a word in small
            // letters after `hostname:` is a changelog's subject or code (`hostname:
            // simplify`, `hostname = trimmed;`).
            let own = value.iter().copied().any(host_mark)
                || value
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            // A string's escape after an escaped backslash (`\\\\x7f`, `\\\\u005C`).
            let escape = matches!(value.first(), Some(b'x' | b'u' | b'U'))
                && value.len() <= 9
                && value[1..].iter().all(u8::is_ascii_hexdigit);
            own && !escape
                && value.len() >= 3
                && value.len() <= 63
                && value.iter().any(u8::is_ascii_alphabetic)
                && !NOT_HOST_LABELS.contains_lowered(value)
                && !value.ends_with(b"-")
        }
        Check::UserAtHost | Check::UserPassword => {
            let [first, second] = pair_parts(check, text, start, end);
            let oracle = || {
                let before = text[start.saturating_sub(8)..start].to_ascii_lowercase();
                [&b"thin:"[..], b"oci:", b"oci8:"]
                    .iter()
                    .any(|tail| before.ends_with(tail))
                    || command_before(text, start) == Some(Command::Oracle)
            };
            let command = check != Check::UserPassword
                || oracle()
                || option_before(text, start).is_some_and(|(option, _, at)| {
                    command_before(text, at) == Some(Command::Curl)
                        && (option == b"-u" || option == b"--user")
                });
            command && (first.is_some() || second.is_some())
        }
        Check::CommandHost => {
            let (option, _, at) = option_before(text, start)?;
            let server = matches!(option, b"-h" | b"--host" | b"--host=")
                && matches!(
                    command_before(text, at),
                    Some(Command::Mysql | Command::Postgres | Command::Redis)
                );
            return server.then(|| confirm(Check::HostLabel, text, start, end))?;
        }
        // Not a path's folder (`/usr/bin/X11:/usr/bin`) or a record's field (passwd's
        // `www-data:/var/www`).
        Check::PathHost => {
            (before.is_none_or(|b| b" \t\r\n\"'=@([,>".contains(&b))
                || text[..start].ends_with(b"//"))
                && value.iter().copied().any(host_mark)
                && confirm(Check::HostLabel, text, start, end).is_some()
        }
        Check::IamUser => {
            // The ARN's token, up to the value: `arn:aws:iam::123456789012:user/…`.
            let token = &text[start.saturating_sub(256)..start];
            let token = &token[token
                .iter()
                .rposition(|b| b.is_ascii_whitespace() || b"\"'<>(),;=".contains(b))
                .map_or(0, |p| p + 1)..];
            let arn = token.starts_with(b"arn:aws")
                && [&b":iam::"[..], b":sts::"].iter().any(|service| {
                    find(token, service).is_some_and(|at| {
                        let account = &token[at + service.len()..];
                        account.len() > 13
                            && account[..12].iter().all(u8::is_ascii_digit)
                            && account[12] == b':'
                    })
                });
            return arn.then(|| confirm(Check::Username, text, start, end))?;
        }
        Check::AzureSecret => {
            let secret = |b: &u8| b.is_ascii_alphanumeric() || b"_~.-".contains(b);
            let begin = start.checked_sub(3)?;
            let whole = text[begin..start].iter().all(|b| secret(b) && *b != b'-')
                && begin.checked_sub(1).is_none_or(|i| !secret(&text[i]))
                && !after.first().is_some_and(secret);
            return whole.then_some((begin, end));
        }
        Check::KubeSecret => {
            let (_, block_end) = kube_secret(text, start, end)?;
            return Some((start, block_end));
        }
        Check::TokenHead => {
            let (length, class): (usize, fn(&u8) -> bool) = if value.starts_with(b".") {
                (14, u8::is_ascii_alphanumeric)
            } else {
                (32, |b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            };
            let begin = start.checked_sub(length)?;
            let whole = text[begin..start].iter().all(class)
                && begin
                    .checked_sub(1)
                    .is_none_or(|i| !text[i].is_ascii_alphanumeric() && text[i] != b'_');
            return whole.then_some((begin, end));
        }
        Check::BasicAuth => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(value)
                .is_ok_and(|pair| {
                    pair.iter().position(|b| *b == b':').is_some_and(|colon| {
                        colon > 0 && colon + 1 < pair.len() && std::str::from_utf8(&pair).is_ok()
                    })
                })
        }
        Check::FieldUser => {
            // `self.owner`: code's member, its receiver first.
            let first = value.split(|b| *b == b'.').next().unwrap_or(value);
            if FIELD_TYPES.contains(first) {
                return None;
            }
            return confirm(Check::Username, text, start, end);
        }
        Check::IdNumber => {
            let digits = value.iter().filter(|b| b.is_ascii_digit()).count();
            let first = value[0];
            digits >= 3 && !value.iter().all(|b| *b == first)
        }
        Check::CommandSecret | Check::CommandUser => {
            let (option, attached, at) = option_before(text, start)?;
            let command = command_before(text, at)?;
            use Command::*;
            let takes = match (check, option, attached) {
                // A space after mysql's `-p` makes it ask: the word after is a database.
                (Check::CommandSecret, b"-p", true) => matches!(command, Mysql | Sshpass),
                (Check::CommandSecret, b"-p", false) => matches!(command, Login | Sshpass | Psexec),
                (Check::CommandSecret, b"--password", false) => command == Login,
                (Check::CommandSecret, b"-a", _) => command == Redis,
                (Check::CommandSecret, b"-w", _) => command == Ldap,
                (Check::CommandUser, b"-u", _) => matches!(command, Mysql | Login | Psexec),
                (Check::CommandUser, b"-U", _) => command == Postgres,
                (Check::CommandUser, b"-l", _) => command == Ssh && ssh_option(text, at),
                _ => false,
            };
            if !takes {
                return None;
            }
            if check == Check::CommandUser {
                return confirm(Check::Username, text, start, end);
            }
            secret_value(value)
        }
        Check::DeviceSecret => {
            // A setting's value stands within a short line.
            let line = line_start(text, start, DEVICE_LINE)?;
            let line = text[line..start].trim_ascii_start();
            DEVICE_SECRET_LINES
                .iter()
                .any(|setting| line.starts_with(setting.as_bytes()))
                && secret_value(value)
        }
        // The pattern holds the scheme's `://`: a host's own name as a label's is.
        Check::UrlHost => return confirm(Check::HostLabel, text, start, end),
        Check::DnDomain => {
            validate::dn_domain(value).is_some_and(|(domain, _)| validate::hostname(&domain))
        }
        Check::Hostname => {
            // Mixed case reads as code (`InvoiceService.java`), except in a URL, where
            // a site's name often is (`https://www.OpportunityDebt.at/`).
            let in_url = text[..start].ends_with(b"://");
            let camel_case = value.split(|b| *b == b'.').any(|label| {
                label.iter().skip(1).any(u8::is_ascii_uppercase)
                    && label.iter().any(u8::is_ascii_lowercase)
            });
            // A dotted name goes on after it (`this.read.as_mut()`: a label with `_` ended
            // the match): a field or method path, not a host. A rotation number after it
            // (`web01.acme.com.1`) is no such name.
            let next_label = after.strip_prefix(b".").and_then(|rest| {
                rest.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-'))
                    .next()
            });
            let continued = next_label
                .is_some_and(|label| !label.is_empty() && !label.iter().all(u8::is_ascii_digit));
            if (camel_case && !in_url)
                || before == Some(b'$')
                || after.first() == Some(&b'(')
                || continued
            {
                return None;
            }
            let (before_last, last) = last_label(value);
            // `ACME Co.Ltd.` names a company, not a host in the .ltd domain.
            let company = last.eq_ignore_ascii_case(b"ltd")
                && before_last
                    .and_then(|name| name.rsplit(|b| *b == b'.').next())
                    .is_some_and(|l| {
                        l.eq_ignore_ascii_case(b"co") || l.eq_ignore_ascii_case(b"pty")
                    });
            // `Overstock.com Inc.`, `Wix.com Ltd.`, `C3.ai, Inc.`: a company named after its
            // site, its legal form after the name on its line. A word that starts a dotted
            // name is no form (a Kerberos realm before its domain in lower case: `CORP.ACME.COM
            // corp.acme.com`).
            let comma = after.strip_prefix(b",").unwrap_or(after);
            let form = &comma[comma
                .iter()
                .position(|b| *b != b' ' && *b != b'\t')
                .unwrap_or(comma.len())..];
            let spaced = form.len() < comma.len();
            let form_end = form
                .iter()
                .position(|b| !b.is_ascii_alphabetic())
                .unwrap_or(form.len());
            let dotted = form[form_end..]
                .strip_prefix(b".")
                .and_then(|rest| rest.first())
                .is_some_and(u8::is_ascii_alphanumeric);
            let form = &form[..form_end];
            if company || (spaced && !dotted && COMPANY_FORMS.contains_lowered(form)) {
                return None;
            }
            if !in_url
                && (KEY_WORD_DOMAINS.contains_lowered(last) && before_setting(after)
                    || setting_key(value) && assigned(after))
            {
                return None;
            }
            let www = value
                .get(..4)
                .is_some_and(|w| w.eq_ignore_ascii_case(b"www."));
            if !in_url && !www && in_code(&text[..start], last, after) {
                return None;
            }
            // Where no file name stands, a file's extension may end a domain (`firma.pl`).
            let known = if in_url || www {
                validate::site_name(value)
            } else {
                validate::hostname(value)
            };
            if known {
                return Some((start, end));
            }
            // A file named after a host (`web01.acme.com.log`, a rotated `….com.1`): the
            // host without the extension. Any other last label makes no file name: in
            // `com.google.common` there is no host `com.google`.
            let host = before_last?;
            if !validate::file_extension(last) && !last.iter().all(u8::is_ascii_digit) {
                return None;
            }
            return validate::hostname(host).then_some((start, start + host.len()));
        }
    };
    let end = match check {
        Check::Secret | Check::CommandSecret | Check::Netrc => quoted_end(text, start, end),
        _ => end,
    };
    ok.then_some((start, end))
}

/// Whether the secret-named key before a value is a secret's id: Vault AppRole's
/// `secret_id` and Consul's `SecretID` are secrets, AWS Secrets Manager's `SecretId`
/// names one (`prod/db`, an ARN), so its value is taken only where it reads as random.
fn names_a_secret_id(before: &[u8]) -> bool {
    let end = before
        .iter()
        .rposition(|b| !b" \t\"'=:>\\".contains(b))
        .map_or(0, |i| i + 1);
    // The key's last bytes only: a value's whole text before it is no key.
    let key = before[end.saturating_sub(9)..end].to_ascii_lowercase();
    [&b"secret_id"[..], b"secret-id", b"secretid"]
        .iter()
        .any(|id| key.ends_with(id))
}

/// A secret long and random to read (`SECRET_KEY_BASE=9f8e…`, a session's cookie).
fn random_secret(value: &[u8]) -> bool {
    value.len() <= MAX_VALUE_BYTES
        && secret_value(value)
        && value.iter().any(u8::is_ascii_digit)
        && value.iter().any(u8::is_ascii_alphabetic)
        && validate::entropy(value) >= 3.0
}

/// How far a quoted secret's closing quote may stand from where its value's characters
/// stopped.
const QUOTED_SECRET_BYTES: usize = 256;

/// Where a secret that `end` cut short ends within its quotes. A value stops at a space,
/// `&`, `;` or `,`, where an unquoted one ends; a quoted one goes on to its closing quote
/// on its line (`sshpass -p 'Tr0ub4dor&3'`, `password: "correct horse battery staple"`),
/// which the rest would otherwise leak. An escaped quote (`\"password\":\"…\"`)
/// closes with an escaped one.
fn quoted_end(text: &[u8], start: usize, end: usize) -> usize {
    let Some(quote) = start
        .checked_sub(1)
        .map(|i| text[i])
        .filter(|q| matches!(q, b'"' | b'\''))
    else {
        return end;
    };
    if text.get(end) == Some(&quote) {
        return end;
    }
    let escaped = start >= 2 && text[start - 2] == b'\\';
    let window = &text[end..text.len().min(end + QUOTED_SECRET_BYTES)];
    let Some(close) = window
        .iter()
        .position(|b| *b == quote || *b == b'\n' || *b == b'\r')
        .filter(|&at| window[at] == quote)
    else {
        return end;
    };
    let close = end + close;
    match (escaped, text[close - 1] == b'\\') {
        (true, true) => close - 1,
        (false, false) => close,
        // An escaped quote within an unescaped string, or the other way round: no
        // closing quote of this value's.
        _ => end,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Whether a secret-named key's value is the shell's working directory, as `env` dumps
/// and sudo's log lines write it (`PWD=/home/alice`, `; PWD=/srv ;`): the key `PWD` in
/// capitals, a path for value. ODBC's `PWD=Passw0rd;` stays a password.
fn working_directory(before: &[u8], value: &[u8]) -> bool {
    let key = before
        .trim_ascii_end()
        .strip_suffix(b"=")
        .map(<[u8]>::trim_ascii_end);
    key.is_some_and(|key| key.ends_with(b"PWD")) && value.starts_with(b"/")
}

/// Whether a secret-named key's value is code that assigns it another variable or a call's
/// result, a statement to itself (`data.token = token;`, `io.token = Some(token);`, and
/// without the `;` as Python writes it, `token = self.get_token()`, `password =
/// self.password`): spaced `=`, a bare name (or a call on one, with one name or none for
/// argument), then the line's end. A shell's or a connection string's `password=hunter2;`
/// has no spaces, a bare word needs the `;` (`password = hunter2` is a configuration's
/// line), and a quoted value is a value.
fn assigns_a_variable(before: &[u8], value: &[u8], after: &[u8]) -> bool {
    let name = |part: &[u8]| {
        part.first().is_some_and(|b| !b.is_ascii_digit()) && part.iter().copied().all(word_byte)
    };
    // A name or a path of names (`self.get_token`, `os.environ`).
    let path = |part: &[u8]| part.split(|b| *b == b'.').all(name);
    // A member (`self.password`), or a path of names in small letters (`node.value`,
    // `ty.colon_token`): a JWT's or a key's dotted parts hold capitals.
    let member = |part: &[u8]| {
        path(part)
            && (part.starts_with(b"self.")
                || part.starts_with(b"this.")
                || part.contains(&b'.') && !part.iter().any(u8::is_ascii_uppercase))
    };
    let mut parts = value.splitn(3, |b| *b == b'(');
    let (statement, rest) = match (parts.next(), parts.next(), parts.next()) {
        (Some(variable), None, _) if member(variable) => {
            (true, Some(after.strip_prefix(b";").unwrap_or(after)))
        }
        (Some(variable), None, _) => (name(variable), after.strip_prefix(b";")),
        (Some(function), Some(argument), None) => (
            path(function)
                && (argument.is_empty()
                    || name(argument)
                    || argument.iter().all(u8::is_ascii_digit)),
            after.strip_prefix(b");").or(after.strip_prefix(b")")),
        ),
        _ => (false, None),
    };
    let line_end = rest.is_some_and(|rest| {
        rest.iter()
            .take_while(|b| **b != b'\n')
            .all(u8::is_ascii_whitespace)
    });
    before.ends_with(b" = ") && statement && line_end
}

/// Whether a secret-named key's value is its type in code (Rust, TypeScript): `token:
/// usize`, `password: impl AsRef<[u8]>`, `token: Token,`, `Token: AsChar + Clone`,
/// `token: Option<Vec<u8>>`. A type is a primitive's name, `impl` or `dyn` before another,
/// or a capitalised name of letters followed by what follows a type in a signature or a
/// declaration (`,` `)` `>` `<` `+` `=` `{` `;`), never by the end of its line, where a
/// configuration's capitalised password stands (`password: Hunter`).
fn declares_a_type(before: &[u8], value: &[u8], after: &[u8]) -> bool {
    const PRIMITIVES: [&[u8]; 17] = [
        b"bool", b"char", b"str", b"f32", b"f64", b"i8", b"i16", b"i32", b"i64", b"i128", b"isize",
        b"u8", b"u16", b"u32", b"u64", b"u128", b"usize",
    ];
    if !before.ends_with(b": ") {
        return false;
    }
    let follows = |marks: &[u8]| {
        after
            .trim_ascii_start()
            .first()
            .is_some_and(|b| marks.contains(b))
    };
    if PRIMITIVES.contains(&value) {
        return follows(b",)>;=") || after.first().is_none_or(|b| *b == b'\n' || *b == b'\r');
    }
    if matches!(value, b"impl" | b"dyn" | b"*mut" | b"*const") {
        return after.first() == Some(&b' ');
    }
    // A C type's or a binding's name (`__u32`, `c_long`, `status_t`, `_bindgen_ty_7`);
    // not a password with an underscore (`hunter_2`).
    let c_type = (value.starts_with(b"_") || value.starts_with(b"c_") || value.ends_with(b"_t"))
        && value
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    if c_type {
        return follows(b",)>;=");
    }
    value.first().is_some_and(u8::is_ascii_uppercase)
        && value.iter().all(u8::is_ascii_alphabetic)
        && value.iter().any(u8::is_ascii_lowercase)
        && follows(b",)><+={;")
}

/// Whether a secret-named key's value, after a spaced `: ` or ` = ` as code writes them
/// (or a `=` that ends its line),
/// is code: a macro's call (`Token![_]`, `hex!(`, `Some(Token![<]`), a method's call
/// (`input.parse()?`, `token.clone()`), or a field set from another (`colon_token:
/// ty.colon_token,`). A secret's dotted parts hold capitals (a JWT's), and a password with
/// a `!` before a bracket or a call's shape is rarer than such code.
fn calls_code(before: &[u8], value: &[u8], after: &[u8]) -> bool {
    let key_end = before.trim_ascii_end();
    let spaced = key_end.len() < before.len()
        && (key_end.ends_with(b":")
            || key_end.ends_with(b" =")
            || key_end.ends_with(b"=") && before[key_end.len()..].contains(&b'\n'));
    if !spaced {
        return false;
    }
    let value = [&b"Some("[..], b"Ok(", b"Box::new("]
        .iter()
        .find_map(|wrap| value.strip_prefix(*wrap))
        .unwrap_or(value);
    let name_end = value
        .iter()
        .position(|b| !(word_byte(*b) || *b == b'.'))
        .unwrap_or(value.len());
    let (path, rest) = value.split_at(name_end);
    let is_path = path.first().is_some_and(|b| !b.is_ascii_digit())
        && path.split(|b| *b == b'.').all(|part| !part.is_empty());
    if !is_path {
        return false;
    }
    let dotted = path.contains(&b'.');
    let macro_call = rest.len() >= 2 && rest[0] == b'!' && b"([{".contains(&rest[1])
        || rest.is_empty()
            && after.starts_with(b"!")
            && b"([{".contains(after.get(1).unwrap_or(&0));
    let method_call = dotted && rest.first() == Some(&b'(');
    let field = dotted
        && rest.is_empty()
        && !path.iter().any(u8::is_ascii_uppercase)
        && matches!(after.first(), Some(b',' | b')' | b';'));
    macro_call || method_call || field
}

/// Whether a secret-named key is a test's status (`PASS: config.sub checks`, automake's
/// and many a test suite's log), in capitals, at the start of its line.
fn test_status(before: &[u8]) -> bool {
    let line = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(before, |n| &before[n + 1..]);
    line.trim_ascii() == b"PASS:"
}

/// How far a Kubernetes Secret's data block may reach, and how far from it its document's
/// `kind: Secret` may stand.
const KUBE_SECRET_BYTES: usize = 64 * 1024;
const KUBE_KIND_BYTES: usize = 8 * 1024;
/// How far back from a literal `kubectl create secret` may stand on its line.
const KUBE_COMMAND_BYTES: usize = 2 * 1024;

/// The values of a Kubernetes Secret's data block whose opening (`data:` and its line's
/// end, or `"data": {`) is `text[start..opened]`, and where the block ends; `None` when
/// the block holds no value or its document is no Secret.
fn kube_secret(text: &[u8], start: usize, opened: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let (values, end) = if text[opened - 1] == b'{' {
        let escaped = text[start] == b'\\';
        let (values, end) = json_string_pairs(text, opened, escaped)?;
        (
            json_kind_secret(text, start, end, escaped).then_some(values)?,
            end,
        )
    } else {
        let (column, _) = yaml_key(&text[start..opened]);
        let (values, end) = yaml_block(text, opened, column);
        let secret = !values.is_empty() && yaml_kind_secret(text, start, end, column);
        (secret.then_some(values)?, end)
    };
    (!values.is_empty()).then_some((values, end))
}

/// Where the opening of a Secret's data block that starts at `start` ends: after its
/// line's end in YAML, after its `{` in JSON.
fn kube_opened(text: &[u8], start: usize) -> usize {
    let json = matches!(text[start], b'"' | b'\\');
    let close = if json { b'{' } else { b'\n' };
    memchr::memchr(close, &text[start..]).map_or(text.len(), |at| start + at + 1)
}

/// Where a YAML line's key starts (after its indentation and a list item's `- `), and the
/// rest of the line from there.
fn yaml_key(line: &[u8]) -> (usize, &[u8]) {
    let mut at = line
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    if line[at..].starts_with(b"- ") {
        at += 2;
        at += line[at..].iter().take_while(|b| **b == b' ').count();
    }
    (at, &line[at..])
}

/// The lines of `text` from `at` on, each without its line end, with where it starts.
fn lines_from(text: &[u8], at: usize) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = at;
    std::iter::from_fn(move || {
        (at < text.len()).then(|| {
            let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |n| at + n);
            let line = (at, &text[at..end]);
            at = end + 1;
            line
        })
    })
}

/// A YAML mapping's values under a key at `column`, from `at`: each line indented deeper,
/// `key: value` giving its value and a block scalar's line (`|` under `config.yaml: |`)
/// itself. Returns the values and where the block ends.
fn yaml_block(text: &[u8], at: usize, column: usize) -> (Vec<(usize, usize)>, usize) {
    let mut values = Vec::new();
    let mut end = at;
    let mut keys = None;
    for (line_start, line) in lines_from(text, at) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let indent = line.iter().take_while(|b| **b == b' ').count();
        if indent <= column || indent == line.len() || line_start - at > KUBE_SECRET_BYTES {
            break;
        }
        end = line_start + line.len();
        let keys = *keys.get_or_insert(indent);
        let value = match memchr::memmem::find(line, b": ") {
            Some(colon) if indent == keys => colon + 2,
            _ if indent == keys && line.ends_with(b":") => continue,
            _ => indent,
        };
        let rest = &line[value..];
        let lead = rest.iter().take_while(|b| **b == b' ').count();
        let trimmed = rest[lead..].trim_ascii_end();
        let quoted = trimmed.len() >= 2
            && matches!(trimmed[0], b'"' | b'\'')
            && trimmed.last() == Some(&trimmed[0]);
        let (from, to) = match quoted {
            true => (value + lead + 1, value + lead + trimmed.len() - 1),
            false => (value + lead, value + lead + trimmed.len()),
        };
        let scalar = matches!(&line[from..to], b"|" | b">" | b"|-" | b">-" | b"|+" | b">+");
        if from < to && !scalar {
            values.push((line_start + from, line_start + to));
        }
    }
    (values, end)
}

/// Whether the YAML mapping whose key at `column` opens `text[start..]` (and whose block
/// ends at `end`) is a Secret's: its `kind: Secret` at the same column, before the block
/// back to the mapping's start or after it to the mapping's end.
fn yaml_kind_secret(text: &[u8], start: usize, end: usize, column: usize) -> bool {
    let is_kind = |line: &[u8]| {
        let (at, rest) = yaml_key(line.strip_suffix(b"\r").unwrap_or(line));
        at == column && matches!(rest.trim_ascii_end(), b"kind: Secret" | b"kind: \"Secret\"")
    };
    // Whether the mapping's keys hold the kind, up to a shallower line, a list item's
    // `- ` or a document's `---`, and at most 16 of the mapping's own keys (a Secret has
    // seven), so that no run of `data:` lines reads the same bytes again and again.
    let holds_kind = |lines: &mut dyn Iterator<Item = &[u8]>| {
        let mut keys = 0;
        for line in lines {
            if is_kind(line) {
                return true;
            }
            let (at, _) = yaml_key(line);
            keys += usize::from(at == column);
            let ends =
                at < column || line.starts_with(b"---") || line.trim_ascii().starts_with(b"- ");
            if ends || keys > 16 {
                return false;
            }
        }
        false
    };
    let floor = start.saturating_sub(KUBE_KIND_BYTES);
    let before = text[floor..start]
        .strip_suffix(b"\n")
        .unwrap_or(&text[floor..start]);
    let ceiling = text.len().min(end + KUBE_KIND_BYTES);
    // A list item's first key (`- data:`) has none of its mapping's keys before it.
    let first = text[start..end].trim_ascii_start().starts_with(b"- ");
    (!first && holds_kind(&mut before.rsplit(|b| *b == b'\n')))
        || holds_kind(&mut lines_from(&text[..ceiling], (end + 1).min(ceiling)).map(|(_, l)| l))
}

/// A JSON object's string values from `at` (after its `{`) to its `}`, with its quotes
/// escaped (`\"`) when it stands within a JSON string. Returns the values and where the
/// object ends; `None` when it holds anything but string pairs or reaches too far.
fn json_string_pairs(
    text: &[u8],
    at: usize,
    escaped: bool,
) -> Option<(Vec<(usize, usize)>, usize)> {
    let quote: &[u8] = if escaped { b"\\\"" } else { b"\"" };
    let limit = text.len().min(at + KUBE_SECRET_BYTES);
    let mut at = at;
    let skip_space = |at: &mut usize| {
        while *at < limit && text[*at].is_ascii_whitespace() {
            *at += 1;
        }
    };
    // A string from its opening quote at `at`: its content's range, and where it ends.
    let string = |at: usize| -> Option<((usize, usize), usize)> {
        text.get(at..limit)?.starts_with(quote).then_some(())?;
        let from = at + quote.len();
        let mut i = from;
        while i < limit {
            if text[i..limit].starts_with(quote) {
                return Some(((from, i), i + quote.len()));
            }
            // An escaped character within the value (never a quote in base64).
            i += if !escaped && text[i] == b'\\' { 2 } else { 1 };
        }
        None
    };
    let mut values = Vec::new();
    loop {
        skip_space(&mut at);
        if text.get(at) == Some(&b'}') && at < limit {
            return Some((values, at + 1));
        }
        let (_, after_key) = string(at)?;
        at = after_key;
        skip_space(&mut at);
        (text.get(at) == Some(&b':')).then_some(())?;
        at += 1;
        skip_space(&mut at);
        let (value, after_value) = string(at)?;
        if value.0 < value.1 {
            values.push(value);
        }
        at = after_value;
        skip_space(&mut at);
        if text.get(at) == Some(&b',') {
            at += 1;
        }
    }
}

/// Whether the JSON object that holds a data object (its key's quote at `start`, its
/// `}` before `end`) has `"kind": "Secret"` among its own keys, after the data object (as
/// `kubectl` sorts them) or before it.
fn json_kind_secret(text: &[u8], start: usize, end: usize, escaped: bool) -> bool {
    let quote: &[u8] = if escaped { b"\\\"" } else { b"\"" };
    // The object's own strings after the data object, up to its `}`, in order.
    let mut after = Vec::new();
    let (mut at, mut depth) = (end, 0usize);
    let limit = text.len().min(end + KUBE_KIND_BYTES);
    while at < limit && after.len() < 64 {
        if text[at..limit].starts_with(quote) {
            let from = at + quote.len();
            let Some(close) = find(&text[from..limit], quote) else {
                break;
            };
            if depth == 0 {
                after.push(&text[from..from + close]);
            }
            at = from + close + quote.len();
            continue;
        }
        if !json_step(&mut depth, text[at], *b"{[", *b"}]") {
            break;
        }
        at += 1;
    }
    // And before it, back to its `{`, in reverse order.
    let mut before = Vec::new();
    let (mut at, mut depth) = (start, 0usize);
    let floor = start.saturating_sub(KUBE_KIND_BYTES);
    while at > floor && before.len() < 64 {
        if text[floor..at].ends_with(quote) {
            let close = at - quote.len();
            let Some(open) = memchr::memmem::rfind(&text[floor..close], quote) else {
                break;
            };
            if depth == 0 {
                before.push(&text[floor + open + quote.len()..close]);
            }
            at = floor + open;
            continue;
        }
        at -= 1;
        if !json_step(&mut depth, text[at], *b"}]", *b"{[") {
            break;
        }
    }
    let pairs = |strings: &[&[u8]]| strings.windows(2).any(|w| w == [&b"kind"[..], b"Secret"]);
    before.reverse();
    pairs(&after) || pairs(&before)
}

/// Follows one byte of JSON, outside its strings, from a data object towards the edge of
/// the object that holds it, either way: `false` at that edge (a `shallower` byte at depth
/// 0) or at a quote of another escaping.
fn json_step(depth: &mut usize, byte: u8, deeper: [u8; 2], shallower: [u8; 2]) -> bool {
    if deeper.contains(&byte) {
        *depth += 1;
    } else if shallower.contains(&byte) {
        let Some(outer) = depth.checked_sub(1) else {
            return false;
        };
        *depth = outer;
    }
    byte != b'"'
}

/// Where a `kubectl` table's header puts its node's name: `kubectl get nodes`' first
/// column (`NAME  STATUS  ROLES …`), or the `NODE` column (not `NOMINATED NODE`).
fn kubectl_node_column(header: &[u8]) -> Option<usize> {
    let mut words = Vec::new();
    let mut at = 0;
    for word in header.split(|b| *b == b' ') {
        if !word.is_empty() {
            words.push((at, word));
        }
        at += word.len() + 1;
    }
    let named = |name: &[u8]| words.iter().any(|(_, w)| *w == name);
    if words.first().is_some_and(|(_, w)| *w == b"NAME") && named(b"STATUS") && named(b"ROLES") {
        return Some(0);
    }
    words
        .windows(2)
        .find(|pair| pair[1].1 == b"NODE" && pair[0].1 != b"NOMINATED")
        .map(|pair| pair[1].0)
}

/// Where the vendor's mark of a token read as a dotted name starts: Terraform Cloud's
/// `.atlasv1.` after its first label (see the detector that takes it whole).
fn token_mark(name: &[u8]) -> Option<usize> {
    let dot = memchr::memchr(b'.', name)?;
    name[dot..].starts_with(b".atlasv1.").then_some(dot)
}

/// A dotted name's last label, and the name before it (none without a dot).
fn last_label(name: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match name.iter().rposition(|b| *b == b'.') {
        Some(dot) => (Some(&name[..dot]), &name[dot + 1..]),
        None => (None, name),
    }
}

/// Whether a dotted name whose last label is `last`, between `before` and `after`, is
/// code rather than a host: a class's attribute, every word capitalised (`Name.Property`,
/// `Literal.Date`: no domain is written so); a module a Python line imports (`from
/// pygments.style import Style`, `import email.mime.text`); or an expression in a
/// template (`${user.home}`, `{{ event.data.name }}`).
fn in_code(before: &[u8], last: &[u8], after: &[u8]) -> bool {
    // (A capital further on is camel case, refused before.)
    let title = last.first().is_some_and(u8::is_ascii_uppercase)
        && last[1..].iter().any(u8::is_ascii_lowercase);
    let line = &before[before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1)..];
    let import = match line.trim_ascii_start() {
        b"import " => true,
        b"from " => after.trim_ascii_start().starts_with(b"import "),
        _ => false,
    };
    let template = {
        let open = before.trim_ascii_end();
        open.ends_with(b"${") || open.ends_with(b"{{")
    };
    title || import || template
}

/// Whether `after`, the text after a word, is its contraction's end (`'t` of `don't`): the
/// word is no account (`script-login: don't include`).
fn contraction(after: &[u8]) -> bool {
    after.first() == Some(&b'\'') && after.get(1).is_some_and(u8::is_ascii_alphabetic)
}

/// The label a value follows (`User` of `User: `, of `"user": "`), without its colon.
fn label_before(before: &[u8]) -> Option<&[u8]> {
    let label = before.trim_ascii_end();
    let label = label
        .strip_suffix(b"\"")
        .or_else(|| label.strip_suffix(b"'"))
        .unwrap_or(label)
        .trim_ascii_end();
    Some(label.strip_suffix(b":")?.trim_ascii_end())
}

/// Whether the `Name:` field a value follows is a thing's (`OS Name:`, `Host Name:`,
/// `product_name =`, `Workstation Name:`), by the word before `Name`.
fn names_a_thing(before: &[u8]) -> bool {
    let Some(label) = label_before(before).or_else(|| {
        let label = before.trim_ascii_end().strip_suffix(b"=")?;
        Some(label.trim_ascii_end())
    }) else {
        return false;
    };
    let Some(qualified) = label
        .len()
        .checked_sub(4)
        .filter(|&at| label[at..].eq_ignore_ascii_case(b"name"))
        .map(|at| {
            label[..at]
                .strip_suffix(b" ")
                .or(label[..at].strip_suffix(b"_"))
        })
    else {
        return false;
    };
    let Some(qualifier) = qualified else {
        return false;
    };
    let word = &qualifier[qualifier
        .iter()
        .rposition(|b| !b.is_ascii_alphabetic())
        .map_or(0, |p| p + 1)..];
    THING_NAMES.contains_lowered(word)
}

/// The labels a host's own name follows, as written (`Host Name . . . :`, `HOSTNAME=`).
const HOST_LABELS: &[&str] = &[
    "Host Name",
    "HostName",
    "Hostname",
    "hostname",
    "HOSTNAME",
    "host_name",
    "HOST_NAME",
    "Computer Name",
    "ComputerName",
    "COMPUTERNAME",
    "computer_name",
    "Workstation Name",
    "WorkstationName",
    "Machine Name",
    "MachineName",
    "machine_name",
    "nodeName",
    "node_name",
    "NodeName",
    // `kubectl describe pod`'s `Node:         worker-node-05/10.0.1.5`.
    "Node",
    "Logon Server",
    "LogonServer",
    // An NTLM logon's event (4776): `Source Workstation:\tWS-JDOE-01`.
    "Source Workstation",
    "LOGONSERVER",
    "_HOSTNAME",
];

/// A share's `\\\\` as its pattern reads it, after a space, a quote or a separator: three
/// bytes, for the packed searcher (two would stop it at every `\\\\` of an escaped string).
const UNC_STARTS: &[&str] = &[
    " \\\\", "\t\\\\", "\n\\\\", "\"\\\\", "'\\\\", "=\\\\", ":\\\\", "(\\\\",
];

/// How far after a host's label or a share's `\\\\` its name is looked for: the label, a
/// column's dots (`Host Name . . . . . . :`) and a label of at most 63 bytes.
const HOST_LABEL_WINDOW: usize = 160;

/// Windows' own domains and the registry's hives, before a `\\` that names no account.
const SYSTEM_DOMAINS: &[&str] = &[
    "BUILTIN",
    "HKLM",
    "HKCU",
    "HKCR",
    "HKU",
    "HKCC",
    "AUTHORITY",
    "SERVICE",
    "APPPOOL",
    "WINDOWS",
    "WINNT",
    "SYSTEM32",
    "CR",
];

/// Words a host's label or a share's server may be that name no host.
static NOT_HOST_LABELS: WordList = WordList::new(&[
    "localhost",
    // Character sets, as MySQL's `character-set-server = utf8mb4` names them.
    "utf8",
    "utf8mb3",
    "utf8mb4",
    "utf16",
    "utf32",
    "latin1",
    "latin2",
    "ucs2",
    "none",
    "null",
    "nil",
    "unknown",
    "undefined",
    "true",
    "false",
    "yes",
    "no",
    "default",
    "hostname",
    "name",
    "example",
    "server",
    "host",
    "empty",
    "not",
    "the",
    "your",
    "auto",
    "any",
    "all",
]);

/// What a `… Name:` field names when it is no person: a machine, a program, a place in a
/// system or an organisation.
static THING_NAMES: WordList = WordList::new(&[
    "os",
    "host",
    "computer",
    "machine",
    "device",
    "node",
    "server",
    "workstation",
    "domain",
    "product",
    "service",
    "process",
    "file",
    "app",
    "application",
    "package",
    "project",
    "module",
    "class",
    "method",
    "function",
    "field",
    "table",
    "column",
    "database",
    "db",
    "schema",
    "printer",
    "share",
    "volume",
    "disk",
    "image",
    "container",
    "pod",
    "cluster",
    "namespace",
    "job",
    "task",
    "queue",
    "topic",
    "bucket",
    "network",
    "interface",
    "adapter",
    "company",
    "organization",
    "organisation",
    "org",
    "team",
    "group",
    "brand",
    "vendor",
    "model",
    "event",
    "key",
    "tag",
    "branch",
    "repo",
    "repository",
    "feature",
    "plan",
    "template",
    "policy",
    "role",
    "region",
    "zone",
    "site",
    "city",
    "country",
    "street",
    "store",
    "bank",
    "logon",
    "instance",
    "resource",
    "object",
    "variable",
    "property",
    "attribute",
    "config",
    "setting",
    "profile",
    "certificate",
    "provider",
    "driver",
    "program",
    "system",
    "software",
    "board",
    "bios",
    "cpu",
    "processor",
]);

/// Whether two or three capitalised words after a label or a hand-off name a person: no
/// word names a team, a company, a product or a place (`Network Operations`, `Red Hat
/// Inc`, `Legal Team`), and the first is no article or pronoun (`The Debian Project`,
/// `Our Users`) or a support tier (`Tier Two`). Written surname first too (`Kowalski,
/// Maria`, `Support, Team`).
fn names_a_person(value: &[u8]) -> bool {
    let mut words = value
        .split(|b| b" ,\t".contains(b))
        .filter(|w| !w.is_empty());
    let first = words.clone().next().unwrap_or_default();
    !ARTICLES.contains_lowered(first)
        && !NOT_NAME_STARTS.contains_lowered(first)
        && words.all(|w| !NOT_NAMES.contains(w) && !NOT_SURNAMES.contains_lowered(w))
}

/// Whether a run of capitalised words may be a name: its first word is none of those that
/// follow a greeting or a label without naming anyone (`Team`, `Customer`, `World`).
fn may_be_name(value: &[u8]) -> bool {
    value
        .split(|b| b.is_ascii_whitespace())
        .next()
        .is_some_and(|first| !NOT_NAMES.contains(first))
}

/// Whether `after`, the text right after a field's or a greeting's name, opens a type's
/// parameters, a call or a path, as code does after `name:` (`name: Option<String>`,
/// `Self { name: Some(name) }`, `$name: Parser<I>`, `name: Vec::new()`): glued to the word,
/// with no email address inside the angle brackets (`Priya Raman<priya@acme.com>` is a
/// name beside its address).
fn opens_code(after: &[u8]) -> bool {
    match after.first() {
        Some(b'(' | b'[' | b'{') => true,
        Some(b':') => after.get(1) == Some(&b':'),
        Some(b'<') => {
            let inner = &after[1..after.len().min(80)];
            let close = inner.iter().position(|b| *b == b'>').unwrap_or(inner.len());
            !inner[..close].contains(&b'@')
        }
        _ => false,
    }
}

/// Whether the text after a word on the line below a letter's close makes that word a
/// field's label, no sender's name: a colon, after nothing but small words (`Thanks!\nFrom:
/// Olga`, `Thanks!\nEmployee record: Name: …`). A signature's own fields keep their name
/// (`Olga Berg - Tel: …`).
fn heads_a_field(after: &[u8]) -> bool {
    let line = after.split(|b| *b == b'\n').next().unwrap_or_default();
    line.iter().position(|b| *b == b':').is_some_and(|colon| {
        line[..colon]
            .iter()
            .all(|b| b.is_ascii_lowercase() || *b == b' ' || *b == b'\t')
    })
}

/// Whether a word after a label's colon begins a sentence, not an account: a capitalised
/// word of small letters with more words after it on its line (a chat's `User: Hello
/// there`, a changelog's `systemd-user: Drop redundant After=`, code's `uid: Uid,`). An
/// account's shape (`User: JDoe logged in`, `User: admin2 from`), a field that follows
/// (`User: Alice Domain: ACME`) or the line's end leaves it an account.
fn sentence_after_label(before: &[u8], value: &[u8], after: &[u8]) -> bool {
    let word = value[0].is_ascii_uppercase() && value[1..].iter().all(u8::is_ascii_lowercase);
    if label_before(before).is_none() || !word {
        return false;
    }
    if after.starts_with(b", ") {
        return true;
    }
    let rest = after.trim_ascii_start();
    if rest.len() == after.len() || after[..after.len() - rest.len()].contains(&b'\n') {
        return false;
    }
    let next = rest
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or_default();
    !next.is_empty() && !next.ends_with(b":") && !next.contains(&b'=')
}

/// Words that make the noun after them prose (`the user`, `a user`), lower case.
static ARTICLES: WordList = WordList::new(&[
    "the", "a", "an", "this", "that", "each", "every", "any", "which", "whose", "no",
]);

/// Whether the text before a user name's value is prose about a user (`when the user
/// specifies`, `a user wanted`, `multi-user environment`): a log names its user `user
/// alice` or `for user alice`, never with an article before `user` or as a compound's
/// last word.
fn prose_user(before: &[u8]) -> bool {
    let head = before.trim_ascii_end();
    let Some(head) = head
        .len()
        .checked_sub(4)
        .filter(|&at| head[at..].eq_ignore_ascii_case(b"user"))
        .map(|at| &head[..at])
    else {
        return false;
    };
    // A compound's last word (`multi-user environment`, `per-user cache`), but not a
    // command's option (`find -user alice`, `--user alice`, `--remote-user alice`).
    if let Some(compound) = head.strip_suffix(b"-") {
        let word = &compound[compound
            .iter()
            .rposition(|b| b.is_ascii_whitespace())
            .map_or(0, |p| p + 1)..];
        return !word.is_empty() && !word.starts_with(b"-");
    }
    if !head.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
        return false;
    }
    let head = head.trim_ascii_end();
    let word = &head[head
        .iter()
        .rposition(|b| !b.is_ascii_alphabetic())
        .map_or(0, |p| p + 1)..];
    ARTICLES.contains_lowered(word)
}

/// The names of the line of `text` at `start` (its comment cut off) if it is a hosts
/// file's: an address, then host names alone. The address is read first, within its first
/// 46 bytes: most lines that start with a digit start with a date, and cost no more.
fn hosts_line_names(text: &[u8], start: usize) -> Vec<&[u8]> {
    let head = &text[start..text.len().min(start + 46)];
    let address = head
        .first()
        .filter(|b| b.is_ascii_digit())
        .and_then(|_| head.iter().position(|b| *b == b' ' || *b == b'\t'))
        .filter(|&end| {
            std::str::from_utf8(&head[..end]).is_ok_and(|a| a.parse::<std::net::IpAddr>().is_ok())
        });
    let Some(address_end) = address else {
        return Vec::new();
    };
    let end = memchr::memchr2(b'\n', b'#', &text[start..]).map_or(text.len(), |p| start + p);
    let names: Vec<&[u8]> = text[start + address_end..end]
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
        .collect();
    let host_name = |name: &&[u8]| {
        name.len() <= 253
            && name
                .split(|b| *b == b'.')
                .all(|label| (1..=63).contains(&label.len()))
            && name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b".-".contains(b))
    };
    if names.iter().all(host_name) {
        names
    } else {
        Vec::new()
    }
}

/// Where a network's address `text[start..end]` ends with its prefix's length
/// (`10.20.0.0/16`, `2001:db8:7::/48`): only where the host's bits are zero, so that its
/// pseudonym is a network's too. An interface's address with its length (`10.20.31.7/16`)
/// is the host's, and ends where it did.
fn network_end(check: Check, text: &[u8], start: usize, end: usize) -> usize {
    // Most addresses have no length: nothing is parsed for them.
    if text.get(end) != Some(&b'/') {
        return end;
    }
    let digits = text[end + 1..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let length = std::str::from_utf8(&text[end + 1..end + 1 + digits])
        .ok()
        .and_then(|l| l.parse::<u32>().ok());
    let (width, address) = match check {
        Check::Ipv4 => (
            32,
            validate::ipv4(&text[start..end], None, b"").map(|a| u128::from(u32::from(a))),
        ),
        Check::Ipv6 => (128, validate::ipv6(&text[start..end]).map(u128::from)),
        _ => return end,
    };
    match (address, length) {
        (Some(address), Some(length))
            if (1..=width).contains(&length) && address.trailing_zeros() >= width - length =>
        {
            end + 1 + digits
        }
        _ => end,
    }
}

/// The handle before the email address `text[start..end]` that is its local part, as a
/// commit's author or a mail's sender writes it: `kwatanabe <kwatanabe@users.noreply…>`.
fn handle_before(text: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let local = &text[start..start + text[start..end].iter().position(|b| *b == b'@')?];
    let before = text[..start].strip_suffix(b"<")?;
    let handle_end = before.trim_ascii_end().len();
    let handle_start = handle_end.checked_sub(local.len())?;
    (handle_end < before.len()
        && local.len() >= 2
        && local.iter().any(u8::is_ascii_alphabetic)
        && text[handle_start..handle_end].eq_ignore_ascii_case(local)
        // `Name <name@example.org>`, `User <user@…>`: a word, not a handle.
        && !NOT_USERNAMES.contains_lowered(local)
        && (handle_start == 0 || !word_byte(text[handle_start - 1])))
    .then_some((handle_start, handle_end))
}

/// Where the host's name ends if the account `text[start..end]` is a computer's: a
/// NetBIOS name (at most 15 letters, digits and hyphens, with a letter) and a `$`, after
/// it or ending it (a Samba passwd line's `ws01$:x:`).
fn machine_account(text: &[u8], start: usize, end: usize) -> Option<usize> {
    // A home directory before a shell's `$` (`cd /home/jdoe$`) is a person's.
    if start > 0 && text[start - 1] == b'/' {
        return None;
    }
    let host_end = if text[start..end].ends_with(b"$") {
        end - 1
    } else if text.get(end) == Some(&b'$') {
        end
    } else {
        return None;
    };
    let host = &text[start..host_end];
    ((1..=15).contains(&host.len())
        && host.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && host.iter().any(u8::is_ascii_alphabetic))
    .then_some(host_end)
}

/// How far a device setting's value may stand from its line's start.
const DEVICE_LINE: usize = 256;

/// How far a syslog line's header may reach: its time, a host's name and a program's.
const SYSLOG_HEADER_BYTES: usize = 192;

/// The host a syslog line's header names: the word after the time (RFC 3164's `Dec  5
/// 10:00:01`, or ISO 8601's as rsyslog and journald write it), before a program's name and
/// its `:` (`sshd[991]:`, `postfix/smtpd[7]:`).
fn syslog_host(line: &[u8]) -> Option<&[u8]> {
    let mut words = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty());
    let clock = |w: &[u8]| {
        w.len() >= 8
            && w[2] == b':'
            && w[5] == b':'
            && w[..8]
                .iter()
                .enumerate()
                .all(|(i, b)| i == 2 || i == 5 || b.is_ascii_digit())
    };
    let first = words.next()?;
    let host = if first.len() >= 19 && first[4] == b'-' && first[10] == b'T' {
        // `2026-12-05T10:00:01.120+00:00`.
        first[..10]
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
            && clock(&first[11..])
    } else {
        // `Dec  5 10:00:01`: a month's short name, as the calendar's words hold it.
        first.len() == 3
            && first[0].is_ascii_uppercase()
            && CALENDAR_WORDS.contains_lowered(first)
            && words.next().is_some_and(|day| {
                (1..=2).contains(&day.len()) && day.iter().all(u8::is_ascii_digit)
            })
            && words
                .next()
                .is_some_and(|time| time.len() == 8 && clock(time))
    }
    .then(|| words.next())
    .flatten()?;
    let program = words.next()?;
    let program_ok = program.ends_with(b":")
        && program[..program.len() - 1]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_.()/-[]".contains(b));
    let host_ok = host[0].is_ascii_alphanumeric()
        && host.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    (program_ok && host_ok && named_host(host)).then_some(host)
}

/// How the lines of a network device's configuration that hold a secret start.
const DEVICE_SECRET_LINES: &[&str] = &[
    "enable secret",
    "enable password",
    "username ",
    "snmp-server community",
    "tacacs-server",
    "radius-server",
    "crypto isakmp key",
    "key-string",
    "wpa-psk ascii",
    "pre-shared-key",
    "ntp authentication-key",
];

/// Where the line that holds `text[at]` starts, if no more than `reach` bytes before it: a
/// check asked at every candidate looks back that far and no further, so that a text of
/// one long line (a minified JSON, a dump) costs each candidate `reach` bytes, not the
/// whole line before it.
fn line_start(text: &[u8], at: usize, reach: usize) -> Option<usize> {
    let floor = at.saturating_sub(reach);
    match text[floor..at].iter().rposition(|b| *b == b'\n') {
        Some(newline) => Some(floor + newline + 1),
        None => (floor == 0).then_some(0),
    }
}

/// The commands whose options name an account or carry a password, by family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// `mysql`, `mysqldump`, `mariadb`…: `-u jdoe`, `-pS3cret`.
    Mysql,
    /// `psql`, `pg_dump`, `createdb`…: `-U jdoe`.
    Postgres,
    /// A registry's `login` (`docker login`, `podman login`, `helm registry login`): `-u
    /// jdoe -p S3cret`.
    Login,
    /// `sshpass -p S3cret`.
    Sshpass,
    /// `redis-cli -a S3cret`.
    Redis,
    /// `ssh -l jdoe`.
    Ssh,
    /// `curl -u alice:S3cret`.
    Curl,
    /// `sqlplus scott/tiger@orcl`, `expdp system/manager@db`.
    Oracle,
    /// OpenLDAP's clients: `ldapsearch -D cn=admin,… -w S3cret`.
    Ldap,
    /// A copy over SSH: `scp f jdoe@web-07:/tmp`, `rsync -a x jdoe@db03:`, `sftp`.
    Copy,
    /// Sysinternals' `psexec \\web-01 -u CORP\admin -p S3cret`.
    Psexec,
    /// Windows' `net use \\fs01\share /user:CORP\jdoe S3cret`.
    NetUse,
}

/// The command an option before `at` belongs to: the last word of [`Command`]'s families
/// before it on its line, after the last pipe, `;` or `&` (`sudo -u postgres psql -U
/// jdoe`: `psql`), by its file's name (`/usr/bin/mysql`).
fn command_before(text: &[u8], at: usize) -> Option<Command> {
    let (mut found, mut login, mut registry) = (None, false, false);
    // Whether the word before was Windows' `net`.
    let mut net = false;
    for word in command_words(text, at) {
        let after_net = std::mem::replace(
            &mut net,
            word.eq_ignore_ascii_case(b"net") || word.eq_ignore_ascii_case(b"net.exe"),
        );
        // By its file's name (`/usr/bin/mysql`).
        match &word[word.iter().rposition(|b| *b == b'/').map_or(0, |p| p + 1)..] {
            b"mysql" | b"mysqldump" | b"mysqladmin" | b"mysqlimport" | b"mysqlshow"
            | b"mysqlcheck" | b"mysqlpump" | b"mariadb" | b"mariadb-dump" | b"mariadb-admin" => {
                found = Some(Command::Mysql)
            }
            b"psql" | b"pg_dump" | b"pg_dumpall" | b"pg_restore" | b"pg_basebackup"
            | b"createdb" | b"dropdb" | b"vacuumdb" | b"reindexdb" | b"clusterdb" | b"pgbench"
            | b"pg_isready" => found = Some(Command::Postgres),
            b"docker" | b"podman" | b"nerdctl" | b"buildah" | b"skopeo" | b"helm" | b"oras" => {
                registry = true
            }
            b"login" => login = true,
            b"sshpass" => found = Some(Command::Sshpass),
            b"redis-cli" => found = Some(Command::Redis),
            b"ssh" | b"autossh" | b"mosh" | b"ssh-copy-id" => found = Some(Command::Ssh),
            b"scp" | b"sftp" | b"rsync" | b"sshfs" => found = Some(Command::Copy),
            b"psexec" | b"psexec.exe" | b"PsExec" | b"PsExec.exe" | b"PsExec64.exe" => {
                found = Some(Command::Psexec)
            }
            b"use" | b"USE" if after_net => found = Some(Command::NetUse),
            b"curl" => found = Some(Command::Curl),
            b"sqlplus" | b"sqlldr" | b"expdp" | b"impdp" | b"exp" | b"imp" => {
                found = Some(Command::Oracle)
            }
            b"ldapsearch" | b"ldapmodify" | b"ldapadd" | b"ldapdelete" | b"ldapwhoami"
            | b"ldappasswd" | b"ldapcompare" | b"ldapmodrdn" | b"ldapexop" => {
                found = Some(Command::Ldap)
            }
            _ => {}
        }
    }
    if registry && login {
        return Some(Command::Login);
    }
    found
}

/// The words of the command that ends at `at`: of its line (at most 512 bytes back), after
/// the last pipe, `;` or `&`; each without an opening quote.
fn command_words(text: &[u8], at: usize) -> impl Iterator<Item = &[u8]> {
    let line = &text[at.saturating_sub(512)..at];
    let line = &line[line
        .iter()
        .rposition(|b| b"\n\r|;&".contains(b))
        .map_or(0, |p| p + 1)..];
    line.split(|b| *b == b' ' || *b == b'\t')
        .filter(|word| !word.is_empty())
        .map(|word| {
            word.strip_prefix(b"\"")
                .or_else(|| word.strip_prefix(b"'"))
                .unwrap_or(word)
        })
}

/// Whether the option at `at` is ssh's own, not the remote command's (`ssh db03 ls -l
/// logs`): between `ssh` and it stand only options and the values of those that take one.
fn ssh_option(text: &[u8], at: usize) -> bool {
    let words: Vec<&[u8]> = command_words(text, at).collect();
    let Some(ssh) = words
        .iter()
        .rposition(|word| *word == b"ssh" || word.ends_with(b"/ssh"))
    else {
        return false;
    };
    let after = &words[ssh + 1..];
    after.iter().enumerate().all(|(i, word)| {
        word.starts_with(b"-")
            || i.checked_sub(1).is_some_and(|p| {
                let option = after[p];
                option.len() == 2 && b"bcDEeFIiJLlmOopQRSWw".contains(&option[1])
            })
    })
}

/// The option a value follows (`-p` of `-pS3cret` or of `-p "S3cret"`), whether the value
/// is attached to it, and where the option starts.
fn option_before(text: &[u8], start: usize) -> Option<(&[u8], bool, usize)> {
    let mut end = start;
    if end > 0 && matches!(text[end - 1], b'"' | b'\'') {
        end -= 1;
    }
    let quoted_end = end;
    while end > 0 && matches!(text[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    // An option is a short word.
    let floor = end.saturating_sub(32);
    let begin = floor
        + text[floor..end]
            .iter()
            .rposition(|b| *b == b' ' || *b == b'\t')?
        + 1;
    Some((&text[begin..end], end == quoted_end, begin))
}

/// `net use`'s `CORP\jdoe S3cret` in `text[start..end]`: the account, where it names
/// someone, and the password, where it is one.
fn net_use_parts(text: &[u8], start: usize, end: usize) -> [Option<(usize, usize)>; 2] {
    let Some(space) = text[start..end]
        .iter()
        .position(|b| *b == b' ' || *b == b'\t')
    else {
        return [None, None];
    };
    let user_end = start + space;
    let user_start = text[start..user_end]
        .iter()
        .rposition(|b| *b == b'\\')
        .map_or(start, |p| start + p + 1);
    let password_start = user_end
        + text[user_end..end]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
    [
        personal_account(&text[user_start..user_end]).then_some((user_start, user_end)),
        secret_value(&text[password_start..end]).then_some((password_start, end)),
    ]
}

/// A host's one label where only a host's name stands: any name with a letter, not one that
/// names no host (`localhost`).
fn named_host(name: &[u8]) -> bool {
    name.len() >= 2
        && name.len() <= 63
        && name.iter().any(u8::is_ascii_alphabetic)
        && !name.ends_with(b"-")
        && !NOT_HOST_LABELS.contains_lowered(name)
}

/// A host or an address a finding's context names, with its kind and category.
type HostPart = ((usize, usize), Kind, Category);

/// An SSH destination's account, if it names someone, and its host.
type DestinationParts = (Option<(usize, usize)>, HostPart);

/// The account and the host of `user@host` in `text[start..end]`, where it is no email
/// address: an account at an IPv4 address (`alice@10.0.0.7`, `root@10.0.0.8:/tmp`), or
/// at a host an SSH or copy command connects to (`ssh -i key alice@bastion`, `scp f
/// deploy@web-07:/tmp`, `rsync -a x jdoe@db03.corp.local:`). The account only where it
/// names someone (not `root`, `git` or `deploy`); `None` where the host is none.
fn destination_parts(text: &[u8], start: usize, end: usize) -> Option<DestinationParts> {
    let mid = start + text[start..end].iter().position(|b| *b == b'@')?;
    let host = mid + 1;
    let host = match confirm(Check::Ipv4, text, host, end) {
        Some(address) => (address, Kind::Ipv4, Category::NetworkIdentifiers),
        None => {
            if !matches!(
                command_before(text, start),
                Some(Command::Ssh | Command::Copy)
            ) {
                return None;
            }
            let name = &text[host..end];
            let found = if name.contains(&b'.') {
                confirm(Check::Hostname, text, host, end)
            } else {
                // A command's destination is a host whatever its name: `bastion` too.
                named_host(name).then_some((host, end))
            };
            (found?, Kind::Hostname, Category::Hostnames)
        }
    };
    let [account, _] = pair_parts(Check::UserAtHost, text, start, end);
    Some((account, host))
}

/// The host and the account of the `.netrc` entry or `.pgpass` line whose password starts
/// at `start`, each where its own check passes (not `*`, `localhost` or `postgres`); the
/// host with its kind, a name or an address.
fn entry_parts(
    check: Check,
    text: &[u8],
    start: usize,
) -> (Option<HostPart>, Option<(usize, usize)>) {
    // The words before the password and where each starts.
    let floor = start.saturating_sub(DEVICE_LINE);
    let words = |from: usize, split: fn(&u8) -> bool| {
        let mut at = from;
        text[from..start]
            .split(split)
            .map(|word| {
                let w = (at, at + word.len());
                at += word.len() + 1;
                w
            })
            .filter(|(s, e)| s < e)
            .collect::<Vec<_>>()
    };
    let (machine, login) = if check == Check::Netrc {
        // `machine HOST login ACCOUNT password`, on one line or several: the last five
        // words before the password (and its quote), whatever the host's name holds; or
        // `default login ACCOUNT password`, the last four, with no host.
        let words = words(floor, |b| b.is_ascii_whitespace() || b"\"'".contains(b));
        let last = |n: usize| words.len().checked_sub(n).map(|k| &words[k..]);
        let word = |(s, e): (usize, usize)| &text[s..e];
        match (last(5), last(4)) {
            (Some(&[keyword, host, _, account, _]), _) if word(keyword) == b"machine" => {
                (Some(host), Some(account))
            }
            (_, Some(&[keyword, _, account, _])) if word(keyword) == b"default" => {
                (None, Some(account))
            }
            _ => return (None, None),
        }
    } else {
        // `HOST:PORT:DATABASE:ACCOUNT:password`.
        let Some(line) = line_start(text, start, DEVICE_LINE) else {
            return (None, None);
        };
        let words = words(line, |b| *b == b':');
        let word = |i: usize| words.get(i).copied();
        (word(0), word(3))
    };
    let machine = machine.and_then(|(s, e)| {
        let as_kind =
            |check, kind, category| confirm(check, text, s, e).map(|p| (p, kind, category));
        let network = Category::NetworkIdentifiers;
        as_kind(Check::Ipv4, Kind::Ipv4, network)
            .or_else(|| as_kind(Check::Ipv6, Kind::Ipv6, network))
            .or_else(|| match text[s..e].contains(&b'.') {
                true => as_kind(Check::Hostname, Kind::Hostname, Category::Hostnames),
                false => as_kind(Check::HostLabel, Kind::Hostname, Category::Hostnames),
            })
    });
    let login = login.filter(|&(s, e)| personal_account(&text[s..e]));
    (machine, login)
}

/// The two parts of a pair's value, `jdoe@ws-0142`, `alice:S3cret` or `scott/tiger`, each where its own
/// check passes: the account where it names someone (not `root` or `postgres`), the host
/// where it is one (not `localhost`), the password where it is no placeholder.
fn pair_parts(check: Check, text: &[u8], start: usize, end: usize) -> [Option<(usize, usize)>; 2] {
    // `alice:S3cret`, or Oracle's `scott/tiger`.
    let separator = |b: &u8| match check {
        Check::UserAtHost => *b == b'@',
        _ => *b == b':' || *b == b'/',
    };
    let Some(mid) = text[start..end]
        .iter()
        .position(separator)
        .map(|p| start + p)
    else {
        return [None, None];
    };
    let account = personal_account(&text[start..mid]);
    let second = &text[mid + 1..end];
    let second_ok = if check == Check::UserAtHost {
        second.len() <= 253
            && second.iter().any(u8::is_ascii_alphabetic)
            && second
                .split(|b| *b == b'.')
                .all(|label| (1..=63).contains(&label.len()) && !label.ends_with(b"-"))
            && !NOT_HOST_LABELS.contains_lowered(second)
    } else {
        secret_value(second)
    };
    [
        account.then_some((start, mid)),
        second_ok.then_some((mid + 1, end)),
    ]
}

/// An account that names someone: shaped like an account (curl's may be an email address),
/// not a variable (`$USER`), a pattern's `*` or an account every system has (`root`,
/// `postgres`).
fn personal_account(user: &[u8]) -> bool {
    (1..=64).contains(&user.len())
        && (user[0].is_ascii_alphabetic() || user[0] == b'_')
        && user
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(b))
        && !NOT_USERNAMES.contains_lowered(user)
        && !SHARED_ACCOUNTS.contains_lowered(user)
}

/// A secret's value: not a placeholder, a variable reference or an obvious non-secret.
fn secret_value(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return true;
    };
    let lower = text.to_ascii_lowercase();
    let placeholder = lower
        .chars()
        .all(|c| c == '*' || c == 'x' || c == '.' || c == '-')
        || lower.starts_with("${")
        || lower.starts_with("{{")
        || lower.starts_with('%')
        || lower.starts_with('<')
        || lower.starts_with("$(")
        // PowerShell's environment variable (`"$env:APP_PW"`).
        || lower.starts_with("$env:")
        // A shell's variable (`-p "$REGISTRY_PASSWORD"`).
        || lower.len() > 1
            && lower.starts_with('$')
            && lower[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        // A command's output in a shell script (`PWD=`pwd``).
        || lower.starts_with('`')
        || lower.starts_with("redacted")
        || lower.starts_with("secret-")
        // Code, not a value: a path (`Token::I32(9`, `RsaPrivateKey::new(`).
        || lower.starts_with(':')
        || lower.contains("::")
        // A file's path, not its content (`private_key: /etc/ssl/private/server.key`).
        || lower.starts_with('/')
            && lower.matches('/').count() >= 2
            && lower.split('/').skip(1).all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            })
        // A number in code (`PASS = 0x04`).
        || lower.len() <= 18
            && lower
                .strip_prefix("0x")
                .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
        || [
            "null",
            "none",
            "true",
            "false",
            "undefined",
            "changeme",
            "required",
            "string",
            "nil",
        ]
        .contains(&lower.as_str());
    // A long run of one or two characters is filler, not a secret.
    !placeholder && (value.len() < 12 || validate::entropy(value) >= 1.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String)> {
        let detectors = Detectors::new(&[], &[]).unwrap();
        detectors
            .find(text.as_bytes())
            .into_iter()
            .map(|f| (f.kind, text[f.start..f.end].to_owned()))
            .collect()
    }

    /// Each text's findings, all of them, as the kinds and values given.
    fn finds_exactly(cases: &[(&str, &[(Kind, &str)])]) {
        for (text, expected) in cases {
            let expected: Vec<(Kind, String)> =
                expected.iter().map(|(k, v)| (*k, v.to_string())).collect();
            assert_eq!(kinds(text), expected, "{text}");
        }
    }

    fn finds_no_account_password_or_host(texts: &[&str]) {
        for text in texts {
            let found = kinds(text);
            assert!(
                found
                    .iter()
                    .all(|(k, _)| !matches!(k, Kind::Username | Kind::Password | Kind::Hostname)),
                "{text}: {found:?}"
            );
        }
    }

    fn finds(text: &str, kind: Kind, value: &str) {
        let found = kinds(text);
        assert!(
            found.iter().any(|(k, v)| *k == kind && v == value),
            "{kind:?} {value:?} not found in {text:?}: {found:?}"
        );
    }

    /// `value` of `kind` is the only finding in `text`.
    fn finds_only(text: &str, kind: Kind, value: &str) {
        assert_eq!(kinds(text), vec![(kind, value.to_owned())], "{text}");
    }

    /// `finds` for each `(text, value)` of a case table.
    fn finds_each(kind: Kind, cases: &[(&str, &str)]) {
        for (text, value) in cases {
            finds(text, kind, value);
        }
    }

    /// `misses` for each text of a case table.
    fn misses_each(kind: Kind, texts: &[&str]) {
        for text in texts {
            misses(text, kind);
        }
    }

    fn misses(text: &str, kind: Kind) {
        let found = kinds(text);
        assert!(
            !found.iter().any(|(k, _)| *k == kind),
            "{kind:?} wrongly found in {text:?}: {found:?}"
        );
    }

    #[test]
    fn a_value_after_its_context_is_the_group_its_pattern_marks() {
        // `Value::After` skips the capture pass: it must pick out what the group would.
        let samples = [
            "user alice",
            "for user bob from",
            "username: carol.smith",
            "login=dave42",
            "uid = erin",
            "Account Name:\t\tfrank",
            "\"username\": \"grace\"",
            "'accountName': 'heidi'",
            "USER='ivan'",
            "cd /home/judy/x",
            "/Users/karl",
            "C:\\Users\\lena.m\\x",
            "c:\\\\users\\\\Mallory O=x\\",
            "C:\\Users\\o=p",
        ];
        let detectors = Detectors::new(&[], &[]).unwrap();
        let mut checked = 0;
        for (i, detector) in detectors.detectors.iter().enumerate() {
            if !matches!(detector.value, Value::After(_)) {
                continue;
            }
            let regex = compile(&[&detector.pattern]).unwrap();
            let group = regex
                .group_info()
                .to_index(regex_automata::PatternID::ZERO, "v")
                .unwrap();
            let mut caps = regex.create_captures();
            let mut slots: Vec<Option<Captures>> = detectors.values.iter().map(|_| None).collect();
            for sample in samples {
                let text = sample.as_bytes();
                regex.search_captures(&Input::new(text), &mut caps);
                let Some(m) = caps.get_match() else {
                    continue;
                };
                let m = regex_automata::Match::new(
                    regex_automata::PatternID::new_unchecked(i),
                    m.range(),
                );
                let v = caps.get_group(group).unwrap();
                assert_eq!(
                    detectors.value_of(m, text, 0..text.len(), &mut slots),
                    Some((v.start, v.end)),
                    "{sample:?} by {}",
                    detector.reason
                );
                checked += 1;
            }
        }
        assert!(checked >= 12, "{checked}");
    }

    #[test]
    fn a_value_cut_out_by_its_patterns_parts_is_the_group_the_capture_pass_finds() {
        let key = "A1b2C3d4".repeat(11);
        let samples = [
            format!("DefaultEndpointsProtocol=https;AccountKey={key}=="),
            "Authorization: Bearer abcdefgh12345678".into(),
            "authorization=\"bearer tok.en-1234567890\"".into(),
            "postgres://admin:s3cretPass@db.acme.com/app".into(),
            "password = \"hunter2hunter\"".into(),
            "api_key: 'ab12cd34ef'".into(),
            "client_secret=>x9y8z7w6".into(),
            "Priya Raman <priya@acme.com>".into(),
            "Søren Ødegård\t<soren@acme.com>".into(),
            "Hi Priya,".into(),
            "Best regards,\n  Ken Watanabe".into(),
            "Name: \"Olga Berg\"".into(),
            "my name is Mary O'Neil".into(),
            "Dr. Kimberly Babić".into(),
            "Customer:  Torben S. Kjeldsen".into(),
            "User: Anna Lyberth wants a refund".into(),
            "escalated to Ruta Jankauskiene today".into(),
            "BSN: 123456782".into(),
            "social insurance number 046 454 286".into(),
            "Aadhaar no 2345 6789 0123".into(),
            "Accepted publickey for priyar from 10.0.0.1".into(),
            "sudo:   kwatanabe : TTY=pts/0".into(),
            "kwatanabe ALL=(ALL) NOPASSWD: ALL".into(),
            "FATAL:  role \"hpatel\" does not exist".into(),
            "Login OK: [mgarcia] (from client wlan port 0)".into(),
            "openvpn[12]: jdoe/203.0.113.50:51234 MULTI: Learn".into(),
            "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg".into(),
            "Mobile: 61 60 57".into(),
            "Phone:\n04.15.68.30.65".into(),
            "+447700 280771 fax\n".into(),
            "call me on 04.94.38.88.56?".into(),
            "my credit card number is 3591135996605773?".into(),
            "requirepass foobared2x".into(),
            "password           A1a-8kdLs9dk3Q\n".into(),
            "nc=1, response=\"6629fae49393a05397450978507c4ef1\", opaque".into(),
            "- name: DB_PASSWORD\n  value: hunter2xyz".into(),
            "Host Name:   WS-JDOE-0142\n".into(),
            "db.acme.com:5432:ledger:ledger_app:Tr0ub4dor-Ledger".into(),
            "machine api.acme.com login alice password s3cr3tNetrc".into(),
            "user alice on >Red1sAclPw ~*".into(),
            "kubectl create secret generic x --from-literal=API=k3y-v4lue".into(),
            "ConvertTo-SecureString \"P0wershellPw!\" -AsPlainText".into(),
            "define('DB_PASSWORD', 'wpP4ssw0rd');".into(),
            "net use \\\\fs01\\share /user:CORP\\jdoe N3tUseP@ss".into(),
            "psexec \\\\web-01 -u x".into(),
            "mount //fs01/share /mnt".into(),
            "Cookie: _portal_session=Qm9iYnlUYWJsZXM6MTIzNDU2Nzg5MA; x=1".into(),
            "{\"name\": \"sid\", \"value\": \"Xj3kL9mQ2pR5sT8vW1yZ\"}".into(),
            "ssh -i k alice@bastion uptime".into(),
            "10.0.0.1 - jdoe [04/Dec/2026:10:00:00 +0000] \"GET".into(),
            "by CORP\\zsmith now".into(),
            "open \\\\FS01\\home$".into(),
            "jdoe:x:1001:1001:John Doe:/home/jdoe:/bin/bash".into(),
            "CN=svc_sssd,OU=Service Accounts,DC=corp,DC=acme,DC=com".into(),
            "[jdoe@ws-0142 ~]$ id".into(),
            "jdoe@ws-0142:~/src$ make".into(),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9x jdoe@ws-0142".into(),
            "curl -u alice:S3cretPw https://x".into(),
            "mysql -pS3cretPass db".into(),
            "psql -U jdoe db".into(),
            "sqlplus -s jdoe/S3cret@orcl".into(),
            "hostname core-sw-01".into(),
            "amqp://x@rabbit-02:5672".into(),
            "enable secret 5 abcdefgh".into(),
            "open \\\\fs01\\users\\jdoe\\x".into(),
            "SECRET_KEY_BASE=9f8e7d6c5b4a39281706f5e4d3c2b1a0".into(),
            "IDENTIFIED BY 'R3port;Pass!'".into(),
            "Server=sql-prod-02;Database=x".into(),
            "host=pg-main port=5432".into(),
            "host    app    app_user    10.20.0.0/16    md5".into(),
            "GRANT ALL ON *.* TO 'jdoe'@'localhost'".into(),
            "jdoe     pts/0        vpn-gw-03        Mon Nov 30 09:12".into(),
            "db.bak?sv=2021-06-08&sig=Vq3kT9%2FzX8mN2pL7vR9sT1uW3y%3D&se=x".into(),
            "https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/Xk92mPq4rTzz8".into(),
            format!(
                "https://discord.com/api/webhooks/123456789012345678/{}",
                "aB3-".repeat(17)
            ),
            "Private-Lines: 2\nAAABAQCX\nkq3Yb8mP\nPrivate-MAC: 0a1b".into(),
            "Passport No: C01X00T47".into(),
            "Driver's license: D1234567".into(),
            "Date of birth: 1984-03-12".into(),
            "customer_id=ACME-00912".into(),
            "mysql -h db-prod-01 -u x".into(),
            "arn:aws:iam::123456789012:user/ops/jdoe".into(),
            "Owner: rgupta\n".into(),
            "<Data Name=\"TargetUserName\">kwatanabe</Data>".into(),
            "S-1-5-21-3623811015-3361044348-30300820-1013".into(),
            "<password>N3xusPass!</password>".into(),
            "<username>deployer</username>".into(),
            "{\"auth\":\"ZGVwbG95ZXI6RDNwbG95UGFzcyE=\"}".into(),
            "_auth=ZGVwbG95ZXI6RDNwbG95UGFzcyE=".into(),
            "127.0.0.1:6379> AUTH s3cr3t-redis-pass".into(),
            "{\"firstName\": \"Piotr\"}".into(),
            "Attendees: Jamal Haddad, Yuki Sato".into(),
            ": PSK \"IpsecS3cret\"".into(),
            "Successfully assigned prod/x-1 to worker-node-06\n".into(),
        ];
        let detectors = Detectors::new(&[], &[]).unwrap();
        let mut answered = std::collections::BTreeSet::new();
        for (detector, value) in detectors.detectors.iter().zip(&detectors.values) {
            let Some(value) = value else {
                continue;
            };
            let parts = value
                .parts
                .as_ref()
                .unwrap_or_else(|| panic!("{} is not cut into parts", detector.reason));
            let mut caps = value.regex.create_captures();
            for sample in &samples {
                value
                    .regex
                    .search_captures(&Input::new(sample.as_bytes()), &mut caps);
                let Some(m) = caps.get_match() else {
                    continue;
                };
                let group = caps.get_group(value.group).unwrap();
                let expected = (group.start, group.end);
                // The parts answer rightly or not at all (`=>`: the context's first way
                // ends at `=`), and then the capture pass does.
                let by_parts = parts.value_in(sample.as_bytes(), m.range());
                assert!(
                    by_parts.is_none_or(|v| v == expected),
                    "{sample:?} by {}: {by_parts:?}",
                    detector.reason
                );
                let mut fresh = value.regex.create_captures();
                assert_eq!(
                    value.value_in(sample.as_bytes(), m.range(), &mut fresh),
                    Some(expected)
                );
                if by_parts.is_some() {
                    answered.insert(detector.reason);
                }
            }
        }
        let groups = detectors.values.iter().filter(|v| v.is_some()).count();
        assert_eq!(answered.len(), groups, "answered only for {answered:?}");
    }

    #[test]
    fn a_pattern_is_cut_at_its_value_only_where_the_value_stands_at_the_top() {
        assert_eq!(
            split_at_value(r"(?i:key)=(?P<v>[a-z]+)\b"),
            Some((r"(?i:key)=", "[a-z]+", r"\b"))
        );
        assert_eq!(
            split_at_value(r"(?P<v>\w+) <[^>]*@"),
            Some(("", r"\w+", " <[^>]*@"))
        );
        assert_eq!(split_at_value("(?P<v>x)"), Some(("", "x", "")));
        // Under an alternation or a repetition, or after flags for the rest of the pattern.
        assert_eq!(split_at_value("a(?P<v>b)|c"), None);
        assert_eq!(split_at_value("(?:a(?P<v>b))+"), None);
        assert_eq!(split_at_value("(?i)key=(?P<v>x)"), None);
        assert_eq!(split_at_value("key=(?P<w>x)"), None);
        assert_eq!(split_at_value("key=(?P<v>x"), None);
        // The parts answer only for a whole match, which ends where they end.
        let value = ValueRegex::new("key=(?P<v>[a-z]+)").unwrap();
        let parts = value.parts.unwrap();
        assert_eq!(parts.value_in(b"key=abc", 0..7), Some((4, 7)));
        assert_eq!(parts.value_in(b"key=abc1", 0..8), None);
        assert_eq!(parts.value_in(b"kee=abc", 0..7), None);
        assert_eq!(parts.value_in(b"> key=abc", 2..9), Some((6, 9)));
    }

    #[test]
    fn a_value_is_read_within_the_whole_text_as_the_search_read_it() {
        // `\\b` after `abc-` holds in `id=abc-def` (a letter follows), not at the end of
        // the match alone: read there, the value was lost, by the parts and by the capture
        // pass alike.
        let custom = [CustomPattern {
            name: "id".into(),
            regex: r"\bid=(?P<v>[a-z]+-)\b".into(),
            category: Category::AccountIdentifiers,
        }];
        let detectors = Detectors::new(&[], &custom).unwrap();
        let found = detectors.find(b"see id=abc-def now");
        assert_eq!(
            found
                .iter()
                .map(|f| (f.kind, f.start, f.end))
                .collect::<Vec<_>>(),
            [(Kind::Custom(0), 7, 11)]
        );
        let value = ValueRegex::new(r"=(?P<v>[a-z]+-)\b|zzz").unwrap();
        assert!(
            value.parts.is_none(),
            "an alternation first: the capture pass answers"
        );
        let mut caps = value.regex.create_captures();
        assert_eq!(value.value_in(b"id=abc-def", 2..7, &mut caps), Some((3, 7)));
    }

    /// A search for user names in `text` that must end: one that loops forever fails here
    /// after a while instead of hanging the suite.
    fn user_names_within_seconds(text: &'static [u8]) -> Vec<Vec<u8>> {
        let (done, result) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let detectors = Detectors::new(&[], &[]).unwrap();
            // The main search over the same text must end too.
            detectors.find(text);
            let names = detectors
                .user_names(text)
                .into_iter()
                .filter_map(|seen| seen.name)
                .map(|name| text[name].to_vec())
                .collect::<Vec<_>>();
            let _ = done.send(names);
        });
        result
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the search ends")
    }

    /// What a value becomes (a pair's parts, a computer's host, a handle, a URL's host) is
    /// kept where the policy allows it, as the value itself would be.
    #[test]
    fn the_parts_a_value_gives_are_kept_where_allowed() {
        let allowed = ["jdoe", "ws-jdoe-0142", "rabbit-02", "kwatanabe"].map(String::from);
        let detectors = Detectors::new(&[], &[])
            .unwrap()
            .allowing(Allowed::new(&allowed, &[]).unwrap());
        let found = |text: &str| -> Vec<(Kind, String)> {
            detectors
                .find(text.as_bytes())
                .into_iter()
                .map(|f| (f.kind, text[f.start..f.end].to_owned()))
                .collect()
        };
        assert_eq!(found("[jdoe@ws-jdoe-0142 ~]$ id"), []);
        assert_eq!(
            found("[jdoe@db03 ~]$ id"),
            [(Kind::Hostname, "db03".into())]
        );
        assert_eq!(found("Account Name: WS-JDOE-0142$"), []);
        assert_eq!(found("ws-jdoe-0142$:x:1001:515::/dev/null:/bin/false"), []);
        assert_eq!(
            found("amqp://guest:Gu3st99@rabbit-02:5672"),
            [(Kind::UrlPassword, "Gu3st99".into())]
        );
        assert_eq!(
            found("Author: kwatanabe <kwatanabe@users.example.org>"),
            [(Kind::Email, "kwatanabe@users.example.org".into())]
        );
    }

    /// A text of one long line (a minified JSON, a dump) costs each candidate a few bytes
    /// of look-back, not the whole line before it: a check that scanned back to the line's
    /// start made these texts quadratic (a megabyte of each took 18 to 60 s).
    #[test]
    fn a_long_line_of_candidates_is_searched_to_its_end() {
        // A secret's key repeated in one token: each key's value runs to the token's end.
        for piece in [
            "snmp key abcd1234 ",
            "a:~/x ",
            "a:x:1 ",
            "a://b-01/ ",
            "password=",
            "SECRET_KEY_BASE=",
            // A run of an address's characters, a candidate every few bytes.
            "A1-",
            "1.2.3.4.",
        ] {
            let text: &'static [u8] = piece.repeat(300_000 / piece.len()).leak().as_bytes();
            user_names_within_seconds(text);
        }
        // Searched in windows there, a run still gives every match whole, one longer than
        // a window too.
        let jwt = format!(
            "eyJ{}.eyJ{}.{}",
            "a".repeat(6000),
            "b".repeat(6000),
            "c".repeat(90)
        );
        let text = format!("{}{jwt} tail", "A1-".repeat(3000));
        let found = kinds(&text);
        assert_eq!(found.len(), 501, "{:?}", &found[495..]);
        assert!(found[..500]
            .iter()
            .all(|(kind, value)| *kind == Kind::MacAddress && value == "A1-A1-A1-A1-A1-A1"));
        assert_eq!(found[500], (Kind::Jwt, jwt));
        // Within reach of its line's start, a setting's value is still found.
        finds_exactly(&[(
            "\nsnmp-server community S3cretRW RW",
            &[(Kind::Password, "S3cretRW")],
        )]);
        let far = format!(
            "snmp-server community{}S3cretRW RW",
            " ".repeat(DEVICE_LINE)
        );
        finds_no_account_password_or_host(&[far.as_str()]);
        assert_eq!(line_start(b"ab\ncd", 4, 1), None);
        assert_eq!(line_start(b"ab\ncd", 4, 2), Some(3));
        assert_eq!(line_start(b"abcd", 3, 3), Some(0));
        assert_eq!(line_start(b"abcd", 3, 2), None);
    }

    #[test]
    fn a_value_read_back_beyond_its_match_starts_after_the_last_finding() {
        // The host's first label is read back over a JSON escape into digits the phone
        // before it already holds.
        let text = br"111 1111\u09ae.co and 555 1111\u00e9acme.com";
        let found: Vec<(Kind, &str)> = Detectors::new(&[], &[])
            .unwrap()
            .find(text)
            .iter()
            .map(|f| (f.kind, std::str::from_utf8(&text[f.start..f.end]).unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                (Kind::Phone, "111 1111"),
                (Kind::Hostname, r"\u09ae.co"),
                (Kind::Phone, "555 1111"),
                (Kind::Hostname, r"\u00e9acme.com"),
            ]
        );
    }

    #[test]
    fn a_match_from_before_a_word_never_takes_the_learning_scan_back() {
        // A man page's example: the search from before `user` (after the path's `/`)
        // finds `/home/u` again, whose name ends before the word and was given already,
        // from the path's own word.
        assert_eq!(
            user_names_within_seconds(b"For example: /home/u/user.\n"),
            [b"u".to_vec()]
        );
        assert_eq!(
            user_names_within_seconds(b"/home/u/user and /home/alice/x"),
            [b"u".to_vec(), b"alice".to_vec()]
        );
    }

    #[test]
    fn the_learning_pass_finds_the_user_names_the_detectors_find() {
        let text = "sshd: Failed password for user alice\nlogin: bob\nuid=carol gid=0\n\
            USER=dave\nUsername: erin\nLogon frank\naccount=grace\nAccount Name:\theidi\n\
            cd /home/ivan/src\nopen /Users/judy/x\nC:\\Users\\karl\\AppData\n\
            {\"path\": \"C:\\\\Users\\\\lena\\\\x\"}\nsuperuser oscar\nwhen the user wanted\n\
            uid=0 user: root user=mallory\nAccepted publickey for nadia from 10.0.0.1\n\
            login as: quinn\nLogged in as rupert\n\
            sudo:   oscar2 : TTY=pts/1\nCRON[9]: (peggy) CMD (x)\n\
            sudo[1240]:     olga : TTY=pts/0\nCROND[5001]: (svc_bkp) CMD (x)\n\
            postgres:x:26:26:PostgreSQL:/var/lib/pgsql:/bin/bash\n\
            svc_backup:x:1002:1002:Backup:/var/lib/backup:/sbin/nologin\n\
            mkowalski:$6$abcdefgh$0123456789abcdefABCDEF/.xyz0123:19000:0:99999:7:::\n\
            daemon:*:19000:0:99999:7:::\n\
            git clone C:\\cygwin\\home\\USER\\repo\n\
            [jdoe@ws-jdoe-0142 ~]$ id\n\
            [root@db03 ~]# id\n\
            rkumar@build-07:~/src$ make\n\
            ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7xyz asmith@laptop-as\n\
            $ PGPASSWORD=x psql -h db03 -p 5432 -U lchen billing\n\
            mysqldump -u okafor -pS3cret db > x.sql\n\
            docker login -u tkowalski -p Dock3rPass registry\n\
            ssh -C -l mbrown db03";
        let detectors = Detectors::new(&[], &[]).unwrap();
        let learned: Vec<&[u8]> = detectors
            .user_names(text.as_bytes())
            .into_iter()
            .filter_map(|seen| seen.name)
            .map(|name| &text.as_bytes()[name])
            .collect();
        let found: Vec<&[u8]> = detectors
            .find(text.as_bytes())
            .into_iter()
            .filter(|f| f.kind == Kind::Username)
            .map(|f| &text.as_bytes()[f.start..f.end])
            .collect();
        assert_eq!(learned, found);
        let names: Vec<&str> = learned
            .iter()
            .map(|n| std::str::from_utf8(n).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "alice",
                "bob",
                "carol",
                "dave",
                "erin",
                "frank",
                "grace",
                "heidi",
                "ivan",
                "judy",
                "karl",
                "lena",
                "mallory",
                "nadia",
                "quinn",
                "rupert",
                "oscar2",
                "peggy",
                "olga",
                "svc_bkp",
                "svc_backup",
                "mkowalski",
                "jdoe",
                "rkumar",
                "asmith",
                "lchen",
                "okafor",
                "tkowalski",
                "mbrown"
            ]
        );
        // A prompt's and a key's hosts come with their accounts; `root@`'s alone.
        let hosts: Vec<&[u8]> = detectors
            .user_names(text.as_bytes())
            .into_iter()
            .filter_map(|seen| seen.host)
            .map(|host| &text.as_bytes()[host])
            .collect();
        let expected: [&[u8]; 4] = [b"ws-jdoe-0142", b"db03", b"build-07", b"laptop-as"];
        assert_eq!(hosts, expected);
    }

    #[test]
    fn stop_word_lists_fit_their_packing() {
        for list in [
            &NOT_NAMES,
            &NOT_USERNAMES,
            &NOT_SURNAMES,
            &NOT_LONE_NAMES,
            &PLACE_PREFIXES,
            &ARTICLES,
            &SHARED_ACCOUNTS,
            &COMPANY_FORMS,
            &CALENDAR_WORDS,
        ] {
            for word in list.words() {
                assert!(word.len() <= WordList::MAX_LEN, "{word}");
                assert!(list.contains(word.as_bytes()), "{word}");
            }
        }
    }

    #[test]
    fn emails_and_names_beside_them() {
        finds(
            "contact Jane Doe <jane.doe@acme.com> today",
            Kind::PersonName,
            "Jane Doe",
        );
        // The name starts after a greeting's or a header's word taken in before it, and
        // stays whole without one.
        let found = |text: &str| {
            kinds(text)
                .into_iter()
                .filter(|(kind, _)| *kind == Kind::PersonName)
                .map(|(_, value)| value)
                .collect::<Vec<_>>()
        };
        for (text, name) in [
            (
                "Thanks Thomas Morin <thomas.morin@enst.fr>.",
                "Thomas Morin",
            ),
            ("From Tom Smith <smith@cag.example.com>", "Tom Smith"),
            (
                "* MAINTAINERS: Add Fergus Henderson <fjh@cs.example.au>.",
                "Fergus Henderson",
            ),
            ("Cc Olga Berg <olga@acme.com>", "Olga Berg"),
            (
                "Signed-off-by: Junio Hamano <gitster@pobox.com>",
                "Junio Hamano",
            ),
        ] {
            assert_eq!(found(text), [name], "{text:?}");
        }
        // What is left after that word is checked as a name is.
        assert_eq!(found("Thanks Team <team@acme.com>"), Vec::<String>::new());
        // An email's domain is no file name, whatever its country's code.
        finds_each(
            Kind::Email,
            &[
                (
                    "contact Jane Doe <jane.doe@acme.com> today",
                    "jane.doe@acme.com",
                ),
                ("mail jan@firma.pl now", "jan@firma.pl"),
                ("mail ops@portal.gov.rs now", "ops@portal.gov.rs"),
            ],
        );
        misses_each(
            Kind::Email,
            &[
                "see foo@bar.invalidtld",
                "retina icon@2x.png",
                "artifact com.acme:lib@1.2.3",
            ],
        );
    }

    #[test]
    fn names_in_greetings_signatures_and_fields() {
        finds_each(
            Kind::PersonName,
            &[
                ("Hi Priya,\nthe array is down", "Priya"),
                ("Best regards,\nKen Watanabe\nSupport", "Ken Watanabe"),
                ("Name: Olga Berg", "Olga Berg"),
                ("Thanks,\nOlga Berg - Tel: 020 7946 0958", "Olga Berg"),
                // A field's label on the line below a close names nobody; the field's own
                // name is still found.
                (
                    "Thanks!\nEmployee record: Name: Erin Johnson, SSN",
                    "Erin Johnson",
                ),
                // Whole, with a capital inside after a short prefix: no half left in clear.
                ("Name: John McDonald", "John McDonald"),
                ("Hi DeShawn,", "DeShawn"),
                ("From: Ann MacLeod <a@b.io>", "Ann MacLeod"),
                ("Dear Mrs. LaToya Jackson,", "LaToya Jackson"),
                ("Simon McVittie <smcv@debian.org>", "Simon McVittie"),
                ("Thanks to Roland McGrath for it", "Roland McGrath"),
                // After an email's signature separator.
                (
                    "call me.\n-- \nTomasz Kowalski | Senior DBA | ACME Bank",
                    "Tomasz Kowalski",
                ),
                ("ok\r\n--\r\nPriya Raman\r\nSupport", "Priya Raman"),
            ],
        );
        misses_each(
            Kind::PersonName,
            &[
                // An identifier cut where it goes on, or with a longer first hump.
                "            name: \"LevelFilter\",",
                "    fn name(&self, name: HtmlNameOrMarkup, b: u8)",
                "            name: \"Rfc2822\",",
                "Thanks!\nEmployee record: attached",
                // A separator only at a line's start, alone on its line.
                "a -- \nTomasz Kowalski",
                "--- \nTomasz Kowalski",
                "-- comment\nTomasz Kowalski",
                "Thanks!\nFrom: ops@example.com",
                r"Regards,\nSubject: disk full",
                "Hi Team, the build is green",
                "Hello World",
                // A field's type or value in code.
                "pub(crate) name: Option<&'a str>,",
                "    name: Box<[u8]>,",
                "Self { name: Some(name) }",
                "impl<'de, $($name: Deserialize<'de>),+> Visitor<'de>",
                "let name: Vec::new();",
                "name: Wrapper[0]",
                "name: Config{ a: 1 }",
            ],
        );
        // After a title, the name is the words that follow it, an `O'` surname too.
        for (text, name) in [
            ("Dear Dr. Kowalczyk,\nthe disk failed", "Kowalczyk"),
            ("Hi Mr Abernathy, thanks", "Abernathy"),
            ("Dear Ms. O'Brien,", "O'Brien"),
            ("Best regards,\nProf. Ines Sousa", "Ines Sousa"),
            ("Name: Mrs Oyelaran", "Oyelaran"),
            ("ask Mx. D'Souza", "D'Souza"),
        ] {
            finds_only(text, Kind::PersonName, name);
        }
        // An `O'` surname after a first name, beside an address as a GNU ChangeLog has it.
        finds(
            "2001-12-07  Turly O'Connor  <t@x.org>",
            Kind::PersonName,
            "Turly O'Connor",
        );
        // A title alone names nobody.
        misses("Hi Mrs, the file is attached", Kind::PersonName);
        misses("Dear Dr. the results", Kind::PersonName);
        // A name glued to its address's bracket is still a name.
        finds(
            "From: Priya Raman<priya@acme.com>",
            Kind::PersonName,
            "Priya Raman",
        );
    }

    #[test]
    fn names_and_addresses_with_letters_beyond_ascii() {
        finds(
            "Best regards,\nJürgen Müller",
            Kind::PersonName,
            "Jürgen Müller",
        );
        finds("Hi José, the array", Kind::PersonName, "José");
        finds("Name: Łukasz Żółć", Kind::PersonName, "Łukasz Żółć");
        finds(
            "Søren Ødegård <soren@acme.com>",
            Kind::PersonName,
            "Søren Ødegård",
        );
        finds("mail tomás@acme.com now", Kind::Email, "tomás@acme.com");
        // As JSON writes them when it escapes everything beyond ASCII.
        let json = r#"{"from":"Tom\u00e1s Herrera <tom\u00e1s@acme.com>","body":"Hi Jos\u00e9,\nsee caf\u00e9.acme.com"}"#;
        finds(json, Kind::PersonName, r"Tom\u00e1s Herrera");
        finds(json, Kind::Email, r"tom\u00e1s@acme.com");
        finds(json, Kind::PersonName, r"Jos\u00e9");
        finds(json, Kind::Hostname, r"caf\u00e9.acme.com");
        // A small letter does not start a name; an escaped backslash's `u` is text.
        misses("Hi été, merci", Kind::PersonName);
        misses(r#"Hi \u00e9t\u00e9"#, Kind::PersonName);
        finds(r"C:\\u00e1s@acme.com", Kind::Email, "u00e1s@acme.com");
    }

    #[test]
    fn full_names_after_a_hand_off_whatever_the_first_name() {
        finds_each(
            Kind::PersonName,
            &[
                (
                    "Spoke with Ruta Jankauskiene about the outage",
                    "Ruta Jankauskiene",
                ),
                ("Ticket escalated to Tomás Ortega.", "Tomás Ortega"),
                ("\tReported by Niels Thykier in:", "Niels Thykier"),
                ("    Thanks to Helmut Grohne for the patch", "Helmut Grohne"),
                ("(spotted by Alexey Kuznetsov)", "Alexey Kuznetsov"),
                ("Attn: Priya Raman", "Priya Raman"),
                ("CC: Uli Schlachter", "Uli Schlachter"),
                ("on behalf of Siobhan O'Neil-Byrne,", "Siobhan O'Neil-Byrne"),
                ("Thanks to John R. D'Orazio.", "John R. D'Orazio"),
                ("signed-off by Mats Erik Andersson", "Mats Erik Andersson"),
                // A commit's trailers; people who introduce themselves or are to be asked.
                ("    Reported-by: Viktor Szakats\n", "Viktor Szakats"),
                ("Approved-by: Olena Kovalenko", "Olena Kovalenko"),
                ("This is Piotr Nowak from the Acme NOC.", "Piotr Nowak"),
                ("I'm Chidi Okeke, the on-call engineer", "Chidi Okeke"),
                (
                    "Please ask Hiroshi Yamamoto to restart it",
                    "Hiroshi Yamamoto",
                ),
            ],
        );
        // Teams, companies, products and places are handed work too; one capitalised word
        // is a team as often as a person (a listed first name is found alone all the same).
        misses_each(
            Kind::PersonName,
            &[
                "assigned to Network Operations",
                "escalated to Tier Two today",
                "reported by Red Hat Inc",
                "Forwarded to Legal Team",
                "working with Microsoft Support",
                "Reported by Google Chrome Team",
                "thanks to The Debian Project",
                "thanks to That Guy",
                "thanks to Our Users",
                "escalated to Networking",
                "reported by upstream",
                "spoke with the Customer",
                // Title-cased phrases after `This is` and `I'm`.
                "    # platforms.  This is Very Helpful.",
                "This is Free Software; see the source",
                "I'm Not Sure it applies",
                "This is Acme Support speaking",
                "please contact Network Operations",
            ],
        );
        finds("escalated to Susan", Kind::PersonName, "Susan");
    }

    /// The words of names found in full that `name_parts_alone` finds standing alone.
    fn parts_alone(text: &str) -> Vec<String> {
        let detectors = Detectors::new(&[], &[]).unwrap();
        let findings = detectors.find(text.as_bytes());
        name_parts_alone(text.as_bytes(), &findings, None)
            .into_iter()
            .map(|f| {
                assert_eq!((f.kind, f.category), (Kind::PersonName, Category::Contact));
                text[f.start..f.end].to_owned()
            })
            .collect()
    }

    #[test]
    fn spans_met_in_order_overlap_the_findings_they_share_a_byte_with() {
        let finding = |start, end| Finding {
            start,
            end,
            kind: Kind::Email,
            category: Category::Contact,
            confidence: 1.0,
            reason: "test",
        };
        let findings = [finding(5, 10), finding(10, 12), finding(20, 30)];
        let mut taken = Taken::new(&findings);
        let spans = [
            ((0, 5), false),
            ((3, 6), true),
            ((9, 11), true),
            ((12, 20), false),
            ((12, 21), true),
            ((25, 26), true),
            ((30, 40), false),
        ];
        for ((start, end), overlaps) in spans {
            assert_eq!(taken.overlaps(start, end), overlaps, "{start}..{end}");
        }
        assert!(!Taken::new(&[]).overlaps(0, 100));
    }

    #[test]
    fn learned_name_words_are_found_as_written_whole_and_where_no_finding_is() {
        let words = ["Raman", "O'Neil", "Neil", "Jean-Luc", "Émile", "Ann"];
        let learned =
            NameWords::learned(words.iter().map(|w| Box::from(w.as_bytes())).collect()).unwrap();
        let alone = |text: &str, findings: &[Finding]| -> Vec<String> {
            learned
                .alone_in(text.as_bytes(), findings)
                .into_iter()
                .map(|(start, end)| text[start..end].to_string())
                .collect()
        };
        let cases: &[(&str, &[&str])] = &[
            // At the text's start and end, after an escaped line break, beyond ASCII.
            ("Raman", &["Raman"]),
            ("ask Raman", &["Raman"]),
            (r"done\nRaman agreed", &["Raman"]),
            ("then Émile wrote", &["Émile"]),
            // An apostrophe or a hyphen within the word; an apostrophe's `s` after it.
            ("ask O'Neil today", &["O'Neil"]),
            ("O'Neil's patch; Raman's too", &["O'Neil", "Raman"]),
            ("Jean-Luc said so", &["Jean-Luc"]),
            // Part of a longer word, a path, a number or another case: none.
            (
                "Ramanathan, Raman2, xRaman, @Raman, Raman.java, RAMAN, raman",
                &[],
            ),
            ("Jean-Lucas, O'Neill, Émilee, Anne, Annex", &[]),
            ("Ramanramanramanramanramanraman", &[]),
            // A text that ends in a lone capital or within a word.
            ("R", &[]),
            ("ask R", &[]),
            ("ask Rama", &[]),
            ("O'", &[]),
            // Beside another capitalised word or a number: part of something else.
            ("the Raman Labs report, 42 Ann", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(alone(text, &[]), *expected, "{text}");
        }
        // Not where a finding already is.
        let text = "user Raman, then Raman";
        let finding = Finding {
            start: 5,
            end: 10,
            kind: Kind::Username,
            category: Category::AccountIdentifiers,
            confidence: 1.0,
            reason: "test",
        };
        assert_eq!(alone(text, std::slice::from_ref(&finding)), ["Raman"]);
        let again = learned.alone_in(text.as_bytes(), &[finding]);
        assert_eq!(again, [(17, 22)]);
    }

    #[test]
    fn a_word_of_a_full_name_is_a_name_where_it_stands_alone_in_the_same_text() {
        let cases: &[(&str, &[&str])] = &[
            // After the name in full, and before it: the whole text is read first.
            (
                "From: Priya Raman <priya@acme.com>\n\nRaman confirmed the fix; ask Raman's team.",
                &["Raman", "Raman"],
            ),
            (
                "As of today, Raman says the array still drops I/O.\n\nBest regards,\nPriya Raman\n",
                &["Raman"],
            ),
            // A first name not on any list, from a greeting; letters beyond ASCII.
            ("Hi Naile,\nthe patch is in. I'm so glad, said Naile.", &["Naile"]),
            ("Hi Ágnes,\nwhen will Ágnes be back?", &["Ágnes"]),
            // A surname beside an email address, then after an escaped line break.
            (
                r#"{"body": "Olga Berg <olga@acme.com> wrote:\nBerg agreed\n"}"#,
                &["Berg"],
            ),
            // A sentence's first word, a chat's speaker.
            ("Thanks to Helmut Grohne.\nGrohne: rebuilt.", &["Grohne"]),
            // An account named like the person is a finding, not an everyday word.
            (
                "From: Priya Raman <p@x.com>\nfor user raman from the VPN; then Raman agreed.",
                &["Raman"],
            ),
            // Apostrophes and hyphens within a surname.
            (
                "Thanks to Mary O'Neil-Byrne.\nask O'Neil-Byrne today.",
                &["O'Neil-Byrne"],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(&parts_alone(text), expected, "{text:?}");
        }
    }

    #[test]
    fn a_names_words_meet_anywhere_in_the_blocks_the_scan_reads() {
        // A capital, a small letter, a blank, a capital: at every position around the
        // 64-byte blocks the bits are read in, and at both ends of the text.
        let len = 130;
        for at in 1..len - 2 {
            for (first, small, blank, capital) in [
                (b'P', b'a', b' ', b'R'),
                (0xC3, 0xA9, b'\t', 0xC3),
                (b'\\', b'z', b' ', b'\\'),
            ] {
                let mut text = vec![b'.'; len];
                text[at - 1..at + 3].copy_from_slice(&[first, small, blank, capital]);
                let windows: Vec<_> = name_windows(&text).collect();
                assert!(
                    windows.len() == 1 && windows[0].contains(&(at + 1)),
                    "{at}: {windows:?}"
                );
                // Not without any of its neighbours, nor after a word with no capital.
                for (i, other) in [(at, b'A'), (at + 2, b'r'), (at - 1, b'.'), (at - 1, b'p')] {
                    let mut text = text.clone();
                    text[i] = other;
                    assert_eq!(name_windows(&text).count(), 0, "{at}");
                }
            }
        }
        // The capital anywhere in the word before (an escape's letter first), a word
        // longer than a name's, or the text's first word.
        for text in [
            &b"x \\nPriya Raman"[..],
            b"McD'arcy-lee Raman",
            b"Jean-luc Picard",
            &[b"a".repeat(70), b"b Raman".to_vec()].concat(),
            b"Priya Raman",
        ] {
            assert_eq!(
                name_windows(text).count(),
                1,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        for text in [
            &b"the connection Reset"[..],
            b"fn into Into",
            b"priya Raman",
        ] {
            assert_eq!(
                name_windows(text).count(),
                0,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        // Cut at the blank, or starting with it: nothing stands beside it.
        assert_eq!(name_windows(b"hello ").count(), 0);
        assert_eq!(name_windows(b" Raman").count(), 0);
        assert_eq!(name_windows(b"").count(), 0);
    }

    #[test]
    fn an_allowed_name_is_no_name_to_learn_whenever_it_is_allowed() {
        let text = b"From: Grace Hopper <gh@acme.io>\nThanks,\nAda Lovelace\n";
        let names = |d: &Detectors| -> Vec<String> {
            d.full_names(text)
                .iter()
                .map(|f| String::from_utf8_lossy(&text[f.start..f.end]).into_owned())
                .collect()
        };
        let detectors = Detectors::new(&[], &[]).unwrap();
        assert_eq!(names(&detectors), ["Grace Hopper", "Ada Lovelace"]);
        // Allowed after the learning pass's detectors were built: they are built again.
        let allowed = Allowed::new(&["grace hopper".into()], &[]).unwrap();
        let detectors = detectors.allowing(allowed.clone());
        assert_eq!(names(&detectors), ["Ada Lovelace"]);
        let fresh = Detectors::new(&[], &[]).unwrap().allowing(allowed);
        assert_eq!(names(&fresh), ["Ada Lovelace"]);
    }

    #[test]
    fn full_names_for_learning_are_found_on_the_lines_that_may_hold_them() {
        let d = Detectors::new(&[], &[]).unwrap();
        let log = "2026-11-28T10:00:01Z web01 sshd[1]: Failed password for user alice\n".repeat(40);
        assert_eq!(name_windows(log.as_bytes()).count(), 0);
        let text = format!(
            "{log}Thanks,\nPriya Raman\n{log}From: Ken Watanabe <ken@acme.com>\n{log}Hi Naile,\n"
        );
        let names: Vec<&str> = d
            .full_names(text.as_bytes())
            .iter()
            .map(|f| &text[f.start..f.end])
            .collect();
        // A word alone (`Hi Naile`) is evidence for its own text only.
        assert_eq!(names, ["Priya Raman", "Ken Watanabe"]);
        // Windows never overlap and stay near their candidates however long a line is.
        let long = format!(
            "{} Dear Priya Raman, {}",
            "x".repeat(5000),
            "y".repeat(5000)
        );
        let windows: Vec<_> = name_windows(long.as_bytes()).collect();
        assert_eq!(windows.len(), 1);
        assert!(windows[0].len() <= 2 * NAME_WINDOW, "{:?}", windows[0]);
        let names = d.full_names(long.as_bytes());
        assert_eq!(&long[names[0].start..names[0].end], "Priya Raman");
        // Prose is one candidate after another: lines with one join a window (at most
        // one per NAME_WINDOW bytes of them), the windows follow each other in order,
        // never overlapping, and a signature's name takes its `Thanks,` line along.
        let run = "Dear Ömer Östberg today\n".repeat(100);
        let prose = run.clone()
            + &"Hello team, we met Olga Berg today.\nThe Vega Reader failed again.\n\
                Thanks,\nNaile Okafor\nAnd then Mark Brand\n"
                .repeat(30);
        let windows: Vec<_> = name_windows(prose.as_bytes()).collect();
        assert!(
            windows.windows(2).all(|w| w[0].end <= w[1].start),
            "{windows:?}"
        );
        let in_run = windows.iter().filter(|w| w.start < run.len()).count();
        assert!(in_run <= run.len() / NAME_WINDOW + 1, "{windows:?}");
        let names: Vec<&str> = d
            .full_names(prose.as_bytes())
            .iter()
            .map(|f| &prose[f.start..f.end])
            .collect();
        assert_eq!(names.iter().filter(|n| **n == "Naile Okafor").count(), 30);
        // Capitals beyond ASCII meet a name's words too.
        assert_eq!(names.iter().filter(|n| **n == "Ömer Östberg").count(), 100);
        // Invalid UTF-8 is read byte-wise, whatever it sits beside.
        let bytes = b"\xff \xc3\n\xff\nDear Priya Raman,\xff \xff";
        let names = d.full_names(bytes);
        assert_eq!(names.len(), 1);
        assert_eq!(&bytes[names[0].start..names[0].end], b"Priya Raman");
    }

    #[test]
    fn words_of_names_are_looked_for_byte_wise_in_invalid_utf8() {
        let text = b"Hi Naile,\n\xff\xfeNaile\xc3 broke; \x80Naile too; said Naile.\xff";
        let detectors = Detectors::new(&[], &[]).unwrap();
        let findings = detectors.find(text);
        let alone = name_parts_alone(text, &findings, None);
        // Glued to stray bytes it is no word of its own; alone it is found.
        let at = text.len() - b"Naile.\xff".len();
        assert_eq!(
            alone.iter().map(|f| (f.start, f.end)).collect::<Vec<_>>(),
            [(at, at + 5)]
        );
    }

    #[test]
    fn a_word_of_a_full_name_is_left_where_it_reads_as_no_name() {
        for text in [
            // No name in full: a capitalised word alone is evidence of nothing.
            "Raman confirmed the fix.",
            // The text uses the word in small letters: an everyday word.
            "Mark Brand <mark@brand.nl>\n\n* Mark the test as flaky; mark it later.",
            // Found already, by the first names' detector.
            "From: Olga Berg <o@x.com>\nthanks, wrote Olga.",
            "Don Howard <don@x.org>\n\tDon't disable it.",
            // Beside another capitalised word or a number: a longer proper name, an address.
            "From: Grace Okafor <g@x.com>\nKayne Okafor Energy; 42 Okafor Street.",
            "From: Grace Okafor <g@x.com>\nsee Kayne Okafor.",
            "From: Grace Okafor <g@x.com>\nat 42 Okafor.",
            "From: Grace Okafor <g@x.com>\nin Östra Okafor.",
            "Hi Emma Watts,\nthe van is at Watts Road, by Emma Terrace.",
            // Written otherwise than the name.
            "From: Priya Raman <p@x.com>\nRAMAN and raman-ci are build hosts.",
            // Words the name lists turn away are no person's, even within a name.
            "From: Olga Lane <o@x.com>\nLane closed; Thanks again.",
            "Dear Ken Crescent,\nthe Crescent closed.",
            "Dear Ken River,\nthe River rose.",
            "From: Olga Sales <o@x.com>\nthen Sales agreed.",
            // A first name that is an everyday word is no name alone (as for the first
            // names' detector).
            "From: Chuck Nolan <c@x.com>\nthen Chuck agreed.",
            // Too short to tell from an abbreviation.
            "From: Bo Li <bo@x.com>\nso Li agreed.",
            "Thanks Thomas Morin <t@x.org>.\nThanks again for the fix.",
            // A letter's opening or closing word taken into a name (`Hi Olga Cheers,`).
            "Hi Olga Cheers,\nthe fix is in, so Cheers to that.",
            "Dear Olga Hello,\nwe said Hello to them.",
            // Days and months are a date's words, whoever bears them too.
            "From: May Chen <may@x.com>\nthe release is due in May then.",
            "From: Emil Sun <e@x.com>\nsee you on Sun then.",
        ] {
            assert_eq!(parts_alone(text), Vec::<String>::new(), "{text:?}");
        }
        // Glued to letters, digits, paths, addresses or code.
        for glued in [
            "Ramanathan",
            "xRaman",
            "Raman2",
            "Raman_old",
            "raman-Raman",
            "Raman.java",
            "Raman::new",
            "Raman(x)",
            "Raman<T>",
            "Raman[0]",
            "Raman=1",
            "@Raman",
            "/home/Raman",
            "`Raman`",
            "$Raman",
        ] {
            let text = format!("From: Priya Raman <p@x.com>\nthen {glued} again");
            assert_eq!(parts_alone(&text), Vec::<String>::new(), "{text:?}");
        }
    }

    #[test]
    fn names_with_a_middle_initial_whatever_the_first_name() {
        finds(
            "Signed-off-by: Junio C Hamano",
            Kind::PersonName,
            "Junio C Hamano",
        );
        // Not only the surname beside the address: the whole name.
        finds(
            "2009-04-24  Kaveh R. Ghazi  <ghazi@acme.com>",
            Kind::PersonName,
            "Kaveh R. Ghazi",
        );
        finds(
            "Thanks to Theodore Y. Ts'o",
            Kind::PersonName,
            "Theodore Y. Ts'o",
        );
        finds(
            "Name on file: Gréta Z Halász",
            Kind::PersonName,
            "Gréta Z Halász",
        );
        finds(
            "not by Albina H. Tomaszewska).",
            Kind::PersonName,
            "Albina H. Tomaszewska",
        );
        // A listed first name is the other detector's, initial and all.
        finds("Jeffrey A Law", Kind::PersonName, "Jeffrey A Law");
        // Title case, numerals, places and streets are no names.
        misses("Updating A Timestamp", Kind::PersonName);
        misses("What I Want", Kind::PersonName);
        misses("System V Application", Kind::PersonName);
        misses("Diamond S Street", Kind::PersonName);
        misses("Via Pietro M. Rossi", Kind::PersonName);
        misses("Type B Gate", Kind::PersonName);
        // A surname ending beyond ASCII is taken whole, one going on beyond the letters
        // known to names not at all.
        finds("by Mirek M. Josué.", Kind::PersonName, "Mirek M. Josué");
        finds("by Carlo M. Josué.", Kind::PersonName, "Carlo M. Josué");
        finds("Peter Maaß wrote", Kind::PersonName, "Peter Maaß");
        misses("Mirek M. Josuёv", Kind::PersonName);
    }

    #[test]
    fn no_word_of_any_not_a_name_list_is_a_word_of_a_name() {
        let words = NOT_NAME_LISTS
            .iter()
            .flat_map(|list| list.words().iter().copied())
            .chain(SIGNATURE_CLOSES)
            .filter(|w| (3..=WordList::MAX_LEN).contains(&w.len()));
        let mut checked = 0;
        for word in words {
            let mut capitalised = word.as_bytes().to_vec();
            capitalised[0] = capitalised[0].to_ascii_uppercase();
            assert!(!name_part(&capitalised), "{word}");
            assert!(
                !name_part(&word.to_ascii_uppercase().into_bytes()),
                "{word}"
            );
            checked += 1;
        }
        assert!(checked > 100, "{checked}");
        for name in ["Raman", "Priya", "O'Neil", "Jürgen"] {
            assert!(name_part(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn names_in_prose_from_titles_and_common_first_names() {
        finds(
            "please correct it to Mrs. Marisa Ribeiro",
            Kind::PersonName,
            "Marisa Ribeiro",
        );
        finds(
            "Yesterday Jennifer Lengyel called",
            Kind::PersonName,
            "Jennifer Lengyel",
        );
        finds(
            "I want to add Dorothy Faria to the case",
            Kind::PersonName,
            "Dorothy Faria",
        );
        finds("My name is Sofia and", Kind::PersonName, "Sofia");
        finds(
            "I'm Kaylee van der Waal but everyone calls me Jaylee.",
            Kind::PersonName,
            "Jaylee",
        );
        finds(
            "Please call me Bob Jensen, not Robert",
            Kind::PersonName,
            "Bob Jensen",
        );
        misses("call me Monday after 10", Kind::PersonName);
        misses("Call me back, please", Kind::PersonName);
        finds(
            "Her maiden name is Kristensen",
            Kind::PersonName,
            "Kristensen",
        );
        finds("ask Paul Müller", Kind::PersonName, "Paul Müller");
        // Places, companies and capitalised words that are no first name.
        misses("ships from Nelson Street today", Kind::PersonName);
        misses("Shares of James River Group rose", Kind::PersonName);
        misses("Started Session Manager on Linux", Kind::PersonName);
        misses("Will Microsoft ship it", Kind::PersonName);
        misses("upgraded to Rocky Linux 9.3", Kind::PersonName);
        misses("the host name is web01", Kind::PersonName);
        misses("at Walter Road 12", Kind::PersonName);
        finds("Contact Acme.com today", Kind::Hostname, "Acme.com");
        finds("Account Name: jdoe", Kind::Username, "jdoe");
        finds(
            "sung by John K Carpenter in 1983",
            Kind::PersonName,
            "John K Carpenter",
        );
        finds(
            "as the assistant to Nancy J. Okafor, and",
            Kind::PersonName,
            "Nancy J. Okafor",
        );
    }

    #[test]
    fn a_common_first_name_alone_where_it_stands_as_a_word() {
        finds(
            "Stephen had given Angel his address",
            Kind::PersonName,
            "Stephen",
        );
        finds("They had 6: Sulimat, Brian, and", Kind::PersonName, "Brian");
        finds(
            "As promised, here's Sandra's address",
            Kind::PersonName,
            "Sandra",
        );
        finds("Don't go to town, Daniel!", Kind::PersonName, "Daniel");
        // A first name that ends an `O'` or `D'` surname: the whole surname.
        for (text, name) in [
            ("Ask O'Neil about it", "O'Neil"),
            ("O'Neil", "O'Neil"),
            ("as D'Angelo said", "D'Angelo"),
            ("from Mary O'Neil today", "Mary O'Neil"),
        ] {
            finds_only(text, Kind::PersonName, name);
        }
        // Not after a longer word.
        finds_only("MO'Neil", Kind::PersonName, "Neil");
        finds("John", Kind::PersonName, "John");
        assert_eq!(
            kinds("Thanks Susan, Karen will call you"),
            vec![
                (Kind::PersonName, "Susan".to_owned()),
                (Kind::PersonName, "Karen".to_owned())
            ]
        );
        // Everyday and technical words that are also first names.
        misses("Max retries exceeded for job 7", Kind::PersonName);
        misses("Grace period ends in 3 days", Kind::PersonName);
        misses("Travis build 4711 passed", Kind::PersonName);
        misses("Julia 1.10 is installed", Kind::PersonName);
        // A month's name that is also a first name, in a date.
        for date in [
            " -- Julian Klode <jak@debian.org>  Fri, 08 Jan 2021 21:49:15 +0100",
            "Sat Jan 30 06:09:00 1999  Robert Lipe",
            "Revert 3 Jan change for powerpc",
            "released on Jan. 5, 2020",
            "due 2021, Jan",
        ] {
            assert!(
                !kinds(date).iter().any(|(_, v)| v == "Jan"),
                "{date}: {:?}",
                kinds(date)
            );
        }
        finds("Jan said the fix works", Kind::PersonName, "Jan");
        finds("ask Jan, 3 times", Kind::PersonName, "Jan");
        // Any other first name beside a number is still one.
        finds("ticket 4711 Karen will call", Kind::PersonName, "Karen");
        // With a surname they are names.
        finds("Grace Hopper wrote it", Kind::PersonName, "Grace Hopper");
        finds("ask Max Mustermann", Kind::PersonName, "Max Mustermann");
        // Inside another word, an address or a file name.
        misses("14 rue Saint-Antoine", Kind::PersonName);
        misses("60733 Paul-Nevermann-Platz 47", Kind::PersonName);
        misses("9102 Ellenö 58", Kind::PersonName);
        misses("see Daniel.java line 4", Kind::PersonName);
        misses("ssh Daniel@localhost", Kind::PersonName);
        misses("open docs/Daniel/notes.txt", Kind::PersonName);
        // Part of a place's name.
        misses("1085 Via Santa Teresa degli Scalzi", Kind::PersonName);
        misses("in Santa Rosa today", Kind::PersonName);
        misses("to North Nicolas to share", Kind::PersonName);
        misses("Mariatal 2 Megan Road", Kind::PersonName);
        // Not a word of its own: a longer name, a lower-case word.
        misses("Johnson & Johnson", Kind::PersonName);
        misses("the john account", Kind::PersonName);
    }

    #[test]
    fn a_number_refused_as_a_phone_hides_no_address_after_it() {
        for text in [
            "2026-12-04 10:00:01 10.40.1.5 GET /owa/ - 443",
            "x 10:00:01 10.40.1.5 GET",
            "listener 1883 10.40.1.5\n",
        ] {
            finds(text, Kind::Ipv4, "10.40.1.5");
            misses(text, Kind::Phone);
        }
        // A byte dump's tail is no phone either.
        misses(
            "hex!(\"18 0f 31 39 39 31 30 35 30 36 32 33 34 35 34 30 5a\")",
            Kind::Phone,
        );
    }

    #[test]
    fn phones_but_not_dates_times_or_versions() {
        finds("call +1 555 010 0199 now", Kind::Phone, "+1 555 010 0199");
        finds("tel (555) 010-0199", Kind::Phone, "(555) 010-0199");
        finds(
            "reach me on +44 20 7946 0958.",
            Kind::Phone,
            "+44 20 7946 0958",
        );
        finds("office 020 7946 0958 ext", Kind::Phone, "020 7946 0958");
        finds("desk: 415-555-0132.", Kind::Phone, "415-555-0132");
        finds("fax (415) 555.0132", Kind::Phone, "(415) 555.0132");
        finds("nl +31.20.555.0132", Kind::Phone, "+31.20.555.0132");
        finds("uk 0161 496 0000 x", Kind::Phone, "0161 496 0000");
        // E.164 written without separators, up to fifteen digits.
        finds("call +15550100199 now", Kind::Phone, "+15550100199");
        finds("sms +447700900123.", Kind::Phone, "+447700900123");
        finds("cn +8613812345678 x", Kind::Phone, "+8613812345678");
        misses("id +1234567890123456 too long", Kind::Phone);
        misses("ts 2026-11-06T01:25:19.736Z up", Kind::Phone);
        misses("build 4.20.13 of 2026-11", Kind::Phone);
        misses("id 415.555.0132 only dots", Kind::Phone);
        misses("2024-01-31 10:20:30 started", Kind::Phone);
        // A standard's number, a range of a quantity.
        misses("//! IEEE 754-2019 `minimum`.", Kind::Phone);
        misses("see ISO/IEC 9899-2018 for it", Kind::Phone);
        misses("for keys of 2048-8192 bits.", Kind::Phone);
        // A number before a unit that is no unit of its own, or after another word.
        finds("ok 754-2019 msgs", Kind::Phone, "754-2019");
        misses("ok 754-2019 ms.", Kind::Phone);
        // After its label a number is a phone whatever follows.
        finds("call 754-2019 ms.", Kind::Phone, "754-2019");
        finds("the IEEEE 754-2019 line", Kind::Phone, "754-2019");
        misses("version 4.12.1203 installed", Kind::Phone);
        misses("took 1500 ms", Kind::Phone);
        // National numbers with their trunk zero, five-digit area codes, extensions.
        finds("call me on 06-82237745?", Kind::Phone, "06-82237745");
        finds("Desk: 07700 316 475 or", Kind::Phone, "07700 316 475");
        finds("office 0380 7558505 x", Kind::Phone, "0380 7558505");
        finds("Fax: (07700)553419 now", Kind::Phone, "(07700)553419");
        finds("tel 650-752-7354x549 mobile", Kind::Phone, "650-752-7354");
        misses("order 0.5 1234567", Kind::Phone);
        misses("id 05-123", Kind::Phone);
        misses("build 0.12345678", Kind::Phone);
        misses("call 650-752-7354xyz", Kind::Phone);
        // Years: a range, an ordinal date.
        misses("Copyright (C) 1996-2019 Julian Seward", Kind::Phone);
        // The GNU licences' postal address, a colour table, a dump.
        misses(
            "51 Franklin St, Fifth Floor, Boston, MA 02110-1301, USA.",
            Kind::Phone,
        );
        misses("105 105 105\t\tdim gray", Kind::Phone);
        misses("// Prints: <Buffer 00 00 00 00 00>", Kind::Phone);
        finds("call 02110-1301 now", Kind::Phone, "02110-1301");
        misses("assert!(date!(2022-049).is_ok())", Kind::Phone);
        finds("call 2012-3456 now", Kind::Phone, "2012-3456");
        // House numbers: before a street's name, after a flat's or postal code's label.
        misses_each(
            Kind::Phone,
            &[
                "it is 4907 4147 Midway Road, Rogers",
                "sent to 212 4199 Layman Avenue Apt. 216",
                "it is 2450 1402 St. John Street",
                "Address: 975 4497 Harley Vincent Drive Apt. 450",
                "Mrs. Nurzhan Vizirov Apt. 728 26842 Schaarsteinweg 97",
                "Dr. Tiina Suite 595 9472 90 Petworth Rd",
                "ZIP: 6250-120",
                // A street's kind before its name, in any case.
                "a taxi to 0662 3441 rue Saint-Antoine",
                "sent to 020 7946 Via Roma 12",
            ],
        );
        // France's dotted pairs, bare (a signature's, a sentence's last word): read first
        // as an IPv4 address that goes on, they were refused. Other dotted digits are not.
        finds_each(
            Kind::Phone,
            &[
                ("Paul Martin\n05.53.18.69.64\nParis", "05.53.18.69.64"),
                ("on my registered 06.12.34.56.78.", "06.12.34.56.78"),
                ("cyprus 26607\\n05.53.18.69.64 office", "05.53.18.69.64"),
            ],
        );
        misses_each(
            Kind::Phone,
            &[
                "oid 05.53.18.69.64.12",
                "v00.53.18.69.64",
                "at 5.53.18.69.64",
                "id 05.53.18.69.645",
                "path /05.53.18.69.64",
            ],
        );
        finds("peer 10.53.18.69 up", Kind::Ipv4, "10.53.18.69");
        finds(
            "Mrs. Nurzhan Vizirov Apt. 728 26842 Schaarsteinweg 97",
            Kind::PersonName,
            "Nurzhan Vizirov",
        );
        // A street's word may be a surname: only a flat's word ends the name.
        finds("Dear Iain Lane, thanks", Kind::PersonName, "Iain Lane");
        // A number before a capitalised word, a title, a street on the next line or later in
        // the sentence, or after a label.
        finds_each(
            Kind::Phone,
            &[
                ("call 415 555 0132 Monday", "415 555 0132"),
                ("call 415 555 0132 Dr. Smith", "415 555 0132"),
                ("ref 415 555 0132\nMain Street", "415 555 0132"),
                ("call 415 555 0132 to reach Main Street", "415 555 0132"),
                ("Phone: 975 4497 Harley Street", "975 4497"),
            ],
        );
    }

    #[test]
    fn phone_numbers_after_their_label_in_any_grouping() {
        // National groupings no unlabelled shape takes: pairs, bare digits, dots.
        finds_each(
            Kind::Phone,
            &[
                ("Phone: 96 771394\n", "96 771394"),
                ("Mobile: 61 60 57\nDesk:", "61 60 57"),
                ("Desk: 07700070518\n", "07700070518"),
                ("Fax: 1322342321", "1322342321"),
                ("Tel. 0477829397.", "0477829397"),
                ("Phone:0477 82 93 97", "0477 82 93 97"),
                ("Phone number: 555 0100 12", "555 0100 12"),
                ("{\"phone\": \"0477829397\"}", "0477829397"),
                ("mobile_no=0612345678&x", "0612345678"),
                ("Can someone call me on 04.94.38.88.56?", "04.94.38.88.56"),
                ("reach us at 0496 17 70 66 today", "0496 17 70 66"),
                ("You can call 61 60 34\n", "61 60 34"),
                ("They're not answering at 03.28.30.47.39", "03.28.30.47.39"),
                ("cell 650-752-7354x549", "650-752-7354"),
                ("Mobile: +447700 280771", "+447700 280771"),
                ("Phone:\n04.15.68.30.65\n", "04.15.68.30.65"),
                ("Phone:\r\n  96 771394", "96 771394"),
                (r"Phone:\n25 637025\n\nE-mail:", "25 637025"),
                // The label after the number, ending its line or field.
                ("8240084271 mobile\n", "8240084271"),
                ("(894)134-3524 fax\n", "(894)134-3524"),
                ("+447700 280771 fax\n", "+447700 280771"),
                ("26 841054-Office\\,806.578.7598-Fax", "806.578.7598"),
                ("26 841054-Office\\,806.578.7598-Fax", "26 841054"),
                ("Call 0477 82 93 97 (mobile).", "0477 82 93 97"),
            ],
        );
        // Codes, dates, versions, oversized runs and other words after the same labels.
        misses_each(
            Kind::Phone,
            &[
                "SMS: 123456",
                "Phone: 12345",
                "phone 2024-01-31 broke",
                "phones: 1996-2019",
                "mobile: 4.12.1203",
                "tel: 0477829397abc",
                "iphone 12345678",
                "telephone 1234567890123456789",
                "call me at 10.30",
                "call us at 10.20.30.40",
                "call 3 times",
                "call 2024-01-31",
                "recall 0477829397",
                "answering 12 34 56",
                // A label after the number that goes on as a sentence, or too few digits.
                "5 000 000 mobile users",
                "room 12 34 office\n",
                "version 4.12.1203 mobile\n",
                "build1234567 mobile\n",
            ],
        );
        // An address after a label is the address's.
        finds("call us at 10.20.30.40", Kind::Ipv4, "10.20.30.40");
    }

    #[test]
    fn ip_addresses_are_parsed() {
        finds("from 10.1.2.3 port 22", Kind::Ipv4, "10.1.2.3");
        misses("version 10.1.2.350", Kind::Ipv4);
        misses("oid 1.3.6.1.4.1.311", Kind::Ipv4);
        // An address may start with its `::`, wherever a word does not go on before it,
        // and be written in either case, not both.
        finds_each(
            Kind::Ipv6,
            &[
                ("peer 2001:db8::42 up", "2001:db8::42"),
                (
                    "bind [fe80::1ff:fe23:4567:890a]:8080",
                    "fe80::1ff:fe23:4567:890a",
                ),
                ("::1 answers", "::1"),
                ("listen [::1]:8080", "::1"),
                (r#"{"ip":"::ffff:10.0.0.1"}"#, "::ffff:10.0.0.1"),
                (r"error\nfe80::1 down", "fe80::1"),
                ("::ffff and dead::beef", "dead::beef"),
                ("fe80::1: no route", "fe80::1"),
                (
                    "ABBA::1 and FE80::1FF:FE23:4567:890A",
                    "FE80::1FF:FE23:4567:890A",
                ),
            ],
        );
        // Times, a bare `::`, paths in code (a word or another `::` after, both cases, single
        // letters) and the end of a word before `::` are no addresses.
        misses_each(
            Kind::Ipv6,
            &[
                "at 12:30:45 the job",
                "the :: operator",
                "_bindgen_ty_3::DEVCONF_MAX",
                "Usage: DBD::_::common::DESTROY",
                "use std::io::Read; ::V3_0::quilt",
                "facade::Cafe::new()",
                "use DBD::Pg; Cafe::new(); Face::Bad",
                "fe80::12345 is too long a group",
                "value_::1 and ty_3::1 are words going on",
                "paths ab::cd::ef, E::A and use c::{WEXITED}",
                "    f32::<_, (_, ErrorKind)>(input)",
                "use core::{fmt, ops};",
            ],
        );
    }

    #[test]
    fn mac_addresses() {
        finds(
            "hwaddr 00:1A:2b:3c:4D:5e",
            Kind::MacAddress,
            "00:1A:2b:3c:4D:5e",
        );
        finds("mac 001a.2b3c.4d5e", Kind::MacAddress, "001a.2b3c.4d5e");
        finds(
            "link/ether 52:54:00:ab:cd:ef",
            Kind::MacAddress,
            "52:54:00:ab:cd:ef",
        );
        misses("serial 1234.5678.9012", Kind::MacAddress);
        // The broadcast address, well-known multicast groups and an unset address name
        // no device; another address with the group bit set is still found (a made-up
        // one in a test's fixture is someone's all the same).
        misses_each(
            Kind::MacAddress,
            &[
                "brd ff:ff:ff:ff:ff:ff",
                "dst 01:00:5e:00:00:fb (mDNS)",
                "dst 33-33-00-00-00-01",
                "hwaddr 00:00:00:00:00:00",
                "stp 0180.c200.0000",
            ],
        );
        finds(
            "nic hwaddr 07:d3:8b:0e:23:02",
            Kind::MacAddress,
            "07:d3:8b:0e:23:02",
        );
    }

    #[test]
    fn a_multicast_group_is_no_host() {
        misses_each(
            Kind::Ipv4,
            &["mdns 224.0.0.251:5353", "igmp 239.255.255.250"],
        );
        misses_each(Kind::Ipv6, &["ping ff02::1%eth0", "group ff05::1:3 joined"]);
        finds("from 223.255.255.1 ok", Kind::Ipv4, "223.255.255.1");
        finds("from fe80::1%eth0", Kind::Ipv6, "fe80::1");
    }

    #[test]
    fn a_secrets_id_and_a_kubectl_secrets_literals() {
        let uuid = "3b4f8c1e-9a2d-4e6f-8b0a-1c3e5d7f9b2a";
        for text in [
            format!("secret_id={uuid}"),
            format!("SecretID: {uuid}"),
            format!(r#"{{"SecretID": "{uuid}"}}"#),
        ] {
            finds(&text, Kind::Password, uuid);
        }
        finds(
            "kubectl create secret generic app --from-literal=SIGNING=Zx3kQ9vLm2pR7tY1 \
             --from-literal \"API=k3y-v4lue\"",
            Kind::Password,
            "Zx3kQ9vLm2pR7tY1",
        );
        finds(
            "kubectl -n shop create secret generic app --from-literal \"API=k3y-v4lue\"",
            Kind::Password,
            "k3y-v4lue",
        );
        // AWS Secrets Manager's `SecretId` names a secret; a ConfigMap's literal is none.
        misses_each(
            Kind::Password,
            &[
                r#""SecretId": "prod/db""#,
                "aws secretsmanager get-secret-value --secret-id prod/app-db",
                "kubectl create configmap cfg --from-literal=LOG_LEVEL=debug",
                "kustomize: --from-literal=LOG_LEVEL=debug",
            ],
        );
    }

    #[test]
    fn a_kubernetes_secrets_data_is_secret_under_any_key() {
        let passwords = |text: &str| {
            kinds(text)
                .into_iter()
                .filter(|(kind, _)| *kind == Kind::Password)
                .map(|(_, value)| value)
                .collect::<Vec<_>>()
        };
        // `kubectl get secret -o yaml` (its keys sorted, `kind` after the data), with the
        // annotation that repeats the data as JSON, then a list whose ConfigMap's data is
        // no secret, and a chart's values whose `data:` is nobody's Secret.
        let yaml = "apiVersion: v1\ndata:\n  DATABASE_URL: cG9zdGdyZXM6Ly9hcHA6UzNjcmV0QGRiLTAx\n  \
             tls.key: \"LS0tLS1CRUdJTg==\"\nkind: Secret\nmetadata:\n  annotations:\n    \
             kubectl.kubernetes.io/last-applied-configuration: |\n      \
             {\"apiVersion\":\"v1\",\"data\":{\"DATABASE_URL\":\"cG9zdGdyZXM6\"},\"kind\":\"Secret\"}\n  \
             name: db\nstringData:\n  config.yaml: |\n    smtp_pass: Wint3r-Is-Coming\n  \
             SMTP_USER: mailer\ntype: Opaque\n---\nitems:\n- apiVersion: v1\n  data:\n    \
             token: ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluMD0=\n  kind: Secret\n\
             - data:\n    LOG_LEVEL: debug\n  kind: ConfigMap\nkind: List\n---\n\
             cache:\n  data:\n    ttl: 3600\n";
        assert_eq!(
            passwords(yaml),
            [
                "cG9zdGdyZXM6Ly9hcHA6UzNjcmV0QGRiLTAx",
                "LS0tLS1CRUdJTg==",
                "cG9zdGdyZXM6",
                "smtp_pass: Wint3r-Is-Coming",
                "mailer",
                "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluMD0=",
            ],
            "{yaml}"
        );
        // `-o json`, its annotation's quotes escaped; a manifest with its kind first; an
        // event whose `data` object is no Secret's.
        let json = "{\n    \"apiVersion\": \"v1\",\n    \"data\": {\n        \"password\": \"UzNjcmV0UGFzcyE=\",\n        \
             \"username\": \"YWRtaW4=\"\n    },\n    \"kind\": \"Secret\",\n    \"metadata\": {\"annotations\": \
             {\"last-applied-configuration\": \"{\\\"data\\\":{\\\"password\\\":\\\"UzNjcmV0\\\"},\\\"kind\\\":\\\"Secret\\\"}\"}}\n}\n\
             {\"kind\": \"Secret\", \"metadata\": {\"labels\": {\"a\": \"b\"}}, \"data\": {\"k\": \"djE=\"}}\n\
             {\"data\": {\"note\": \"djE=\"}, \"kind\": \"Audit\", \"items\": [{\"kind\": \"Secret\"}]}\n";
        assert_eq!(
            passwords(json),
            ["UzNjcmV0UGFzcyE=", "YWRtaW4=", "UzNjcmV0", "djE="],
            "{json}"
        );
        // An object that reaches its bound right at a pair's colon ends there.
        let edge = format!(
            "\"data\": {{{}{}",
            " ".repeat(5),
            "\"k\":\"v\",".repeat(8192)
        );
        assert!(passwords(&edge).is_empty());
    }

    #[test]
    fn signed_urls_and_chat_webhooks_are_secrets() {
        let sas = "https://acme.blob.core.windows.net/b/db.bak?sv=2021-06-08&sp=rl&sig=Vq3kT9%2FzX8mN2pL7vR9sT1uW3yZ5aB6cD8e%3D&se=2026";
        finds(
            sas,
            Kind::UrlSignature,
            "Vq3kT9%2FzX8mN2pL7vR9sT1uW3yZ5aB6cD8e%3D",
        );
        finds(
            "GET /x?X-Amz-Credential=k&X-Amz-Signature=4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99 HTTP/1.1",
            Kind::UrlSignature,
            "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99",
        );
        finds(
            "Endpoint=sb://x/;SharedAccessSignature=SharedAccessSignature sr=x&sig=AbCdEfGh12345678IjKl%3d&se=1",
            Kind::UrlSignature,
            "AbCdEfGh12345678IjKl%3d",
        );
        // Signature Version 4 in a header, as an SDK's debug log prints it.
        let signature = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";
        finds(
            &format!("Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"),
            Kind::UrlSignature,
            signature,
        );
        let key = "A1b2C3d4".repeat(6);
        finds(
            &format!("Endpoint=sb://bus/;SharedAccessKeyName=Root;SharedAccessKey={key}="),
            Kind::AzureStorageKey,
            &format!("{key}="),
        );
        finds(
            "webhook: https://hooks.slack.com/services/T024BE7LD/B01ABCDEF12/Xk92mPq4rTzz8YpQwErTyUio",
            Kind::Webhook,
            "T024BE7LD/B01ABCDEF12/Xk92mPq4rTzz8YpQwErTyUio",
        );
        finds(
            "https://acme.webhook.office.com/webhookb2/1f2e@3d4c/IncomingWebhook/9a8b7c/5d6e",
            Kind::Webhook,
            "1f2e@3d4c/IncomingWebhook/9a8b7c/5d6e",
        );
        let token = "aB3-xY9_".repeat(9);
        finds(
            &format!("url=https://discord.com/api/webhooks/123456789012345678/{token}"),
            Kind::Webhook,
            &format!("123456789012345678/{token}"),
        );
        // A signature too short to be one, a page's `sig=` word, Slack's docs page, a
        // Discord URL without its token.
        misses_each(
            Kind::UrlSignature,
            &[
                "?sig=abc&x=1",
                "see the sig= parameter",
                "?design=Vq3kT9zX8mN2pL7vR9sT1",
                "Regards, Signature=short",
                "verified, DigitalSignature=Vq3kT9zX8mN2pL7vR9sT1",
            ],
        );
        misses_each(
            Kind::Webhook,
            &[
                "see https://api.slack.com/messaging/webhooks",
                "https://hooks.slack.com/services/",
                "https://discord.com/api/webhooks/123456789012345678",
            ],
        );
    }

    #[test]
    fn service_tokens_are_found_by_their_vendors_prefix() {
        let hex32 = "3f8a9c2e71d54b6fa0e8c7d9b2a14f63";
        let alnum = |n: usize| "Xk92mPq4rT".repeat(n / 10 + 1)[..n].to_owned();
        let tokens = [
            format!("sk-proj-{}", alnum(48)),
            format!("sk-ant-api03-{}", alnum(90)),
            format!("sk-{}T3BlbkFJ{}", alnum(20), alnum(20)),
            format!("hf_{}", alnum(34)),
            format!("npm_{}", alnum(36)),
            format!("pypi-AgEIcHlwaS5vcmc{}", alnum(60)),
            format!("dckr_pat_{}", alnum(27)),
            format!("glrt-{}", alnum(20)),
            format!("hvs.{}", alnum(90)),
            format!("SG.{}.{}", alnum(22), alnum(43)),
            format!("shpat_{hex32}"),
            format!("SK{hex32}"),
            format!("dapi{hex32}"),
            format!("dop_v1_{hex32}{hex32}"),
            format!(
                "PMAK-{}-{}",
                &hex32[..24],
                "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7"
            ),
            format!("glsa_{}_{}", alnum(32), &hex32[..8]),
            format!("NRAK-{}", "X".repeat(27)),
            format!("lin_api_{}", alnum(40)),
            format!("key-{hex32}"),
            format!("xapp-1-{}", alnum(30)),
            format!("whsec_{}", alnum(32)),
            format!("GOCSPX-{}", alnum(28)),
            format!("ya29.{}", alnum(40)),
            format!("1//0g{}", alnum(60)),
            format!("pul-{hex32}{}", &hex32[..8]),
            format!("dp.st.prd.{}", alnum(43)),
            format!("AKCp8{}", alnum(68)),
            format!("sq0atp-{}", alnum(22)),
            format!("sq0csp-{}", alnum(43)),
            format!("access_token$production${}${hex32}", &hex32[..16]),
            format!("AAAA{}:APA91b{}", alnum(7), alnum(134)),
            // The part before the vendor's mark belongs to the token.
            format!("{}.atlasv1.{}", alnum(14), alnum(67)),
            format!("{hex32}-us12"),
        ];
        for token in &tokens {
            finds(&format!("using {token} ok"), Kind::ApiToken, token);
            finds(&format!("\"{token}\""), Kind::ApiToken, token);
        }
        // A prefix with too short a token, a word that starts like one, an ordinary
        // hexadecimal id.
        misses_each(
            Kind::ApiToken,
            &[
                "sk-proj-abc",
                "task-proj-Xk92mPq4rTXk92mPq4rTXk92mPq4rT",
                "hf_model name",
                "npm_config_cache=/tmp",
                "key-value store",
                "SKU 3f8a9c2e71d54b6f",
                &format!("commit {hex32}"),
                &format!("mask{hex32}"),
                // A data centre after no key, or after a longer run; a first part too
                // short for Terraform Cloud's; a host's `-us1`.
                "locale en-us1",
                &format!("{hex32}0-us12"),
                &format!("{}.atlasv1.{}", alnum(13), alnum(67)),
                "cdn-us1.acme.com",
                "pul-request",
                "dp.st.short",
            ],
        );
        // A refused dotted name gives the token at its mark whole, after any context.
        finds(
            &format!(
                "export TF_TOKEN_app_terraform_io={}.atlasv1.{}",
                alnum(14),
                alnum(67)
            ),
            Kind::ApiToken,
            &format!("{}.atlasv1.{}", alnum(14), alnum(67)),
        );
        finds(
            "using Abc8Q~kZ3r.Vq9TzX8mN2pL7vR9sT1uW3yZ5aB6c ok",
            Kind::AzureClientSecret,
            "Abc8Q~kZ3r.Vq9TzX8mN2pL7vR9sT1uW3yZ5aB6c",
        );
        finds(
            "AZURE_APP=abc8Q~kZ3r.Vq9TzX8mN2pL7vR9sT1uW3yZ5aB6c",
            Kind::AzureClientSecret,
            "abc8Q~kZ3r.Vq9TzX8mN2pL7vR9sT1uW3yZ5aB6c",
        );
        misses_each(
            Kind::AzureClientSecret,
            &[
                "ab8Q~kZ3r.Vq9TzX8mN2pL7vR9sT1uW3yZ5aB6c",
                "xyz8Q~kZ3r.Vq9TzX8mN2pL7vR9sT1uW3yZ5aB6cD8Vq9TzX8mN2pL7vR9",
                "see 8Q~ short",
            ],
        );
    }

    #[test]
    fn an_arns_account_and_iam_user_are_identifiers() {
        finds_each(
            Kind::AccountNumber,
            &[
                ("arn:aws:iam::123456789012:user/jdoe", "123456789012"),
                (
                    "arn:aws-us-gov:s3:us-gov-west-1:123456789012:x",
                    "123456789012",
                ),
                (
                    "\"subscriptionId\": \"3f2b8c1d-4e5a-4b6c-9d7e-8f9a0b1c2d3e\"",
                    "3f2b8c1d-4e5a-4b6c-9d7e-8f9a0b1c2d3e",
                ),
                (
                    "tenant_id=72f988bf-86f1-41af-91ab-2d7cd011db47",
                    "72f988bf-86f1-41af-91ab-2d7cd011db47",
                ),
                (
                    "{\"appId\": \"a1b2\", \"tenant\": \"72f988bf-86f1-41af-91ab-2d7cd011db47\"}",
                    "72f988bf-86f1-41af-91ab-2d7cd011db47",
                ),
                (
                    "POST /2010-04-01/Accounts/AC3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c/Messages.json",
                    "AC3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
                ),
            ],
        );
        finds_each(
            Kind::Username,
            &[
                ("arn:aws:iam::123456789012:user/mkowalski", "mkowalski"),
                ("\"arn:aws:iam::123456789012:user/ops/bwilson\"", "bwilson"),
                (
                    "arn:aws:sts::123456789012:assumed-role/AdminRole/jdoe",
                    "jdoe",
                ),
            ],
        );
        // A path's `user/` is no IAM user.
        // A bucket's ARN names no account; a Twilio SID is 32 small hexadecimal digits,
        // neither 31 nor capitals nor part of a longer word.
        misses_each(
            Kind::AccountNumber,
            &[
                "arn:aws:s3:::acme-backups-123456789012",
                "AC3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5",
                // A tenant named in prose, or a JSON tenant's name.
                "one tenant 2024 migration",
                "\"tenant\": \"acme-corp\"",
                "AC3F9A8B7C6D5E4F3A2B1C0D9E8F7A6B5C",
                "MAC3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
                "AC3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c0",
            ],
        );
        misses_each(
            Kind::Username,
            &[
                "GET /api/user/mkowalski",
                "arn:aws:iam::123456789012:role/AdminRole",
                "arn:aws:iam::1234:user/mkowalski",
            ],
        );
    }

    #[test]
    fn a_putty_keys_private_lines_are_a_private_key() {
        let ppk = "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\nComment: jdoe\nPublic-Lines: 1\nAAAAB3NzaC1yc2E\nPrivate-Lines: 2\nAAABAQCXkq3Yb8mP\nL2v7Qx9TzRnW==\nPrivate-MAC: 0a1b2c\n";
        finds_each(
            Kind::PrivateKey,
            &[
                (ppk, "AAABAQCXkq3Yb8mP\nL2v7Qx9TzRnW=="),
                ("Private-Lines: 1\r\nAAAB3Nza", "AAAB3Nza"),
            ],
        );
        misses_each(
            Kind::PrivateKey,
            &[
                "Public-Lines: 2\nAAAAB3NzaC1yc2E\n",
                "Private-Lines: 14 (see below)\n",
            ],
        );
    }

    #[test]
    fn identity_documents_and_customer_numbers_after_their_labels() {
        finds_each(
            Kind::Passport,
            &[
                ("Passport No: C01X00T47", "C01X00T47"),
                ("passport_number=123456789", "123456789"),
                ("\"passport\": \"09AB12345\"", "09AB12345"),
                ("Passport #: 512345678.", "512345678"),
            ],
        );
        misses_each(
            Kind::Passport,
            &[
                "Passport: EXPIRED",
                "passport renewal 2024-05-01",
                "Passport No: 000000000",
                "passport photo: AB12",
            ],
        );
        finds_each(
            Kind::DriverLicense,
            &[
                ("Driver's license: D1234567", "D1234567"),
                ("driving_licence_no = MORGA753116SM9IJ", "MORGA753116SM9IJ"),
                ("Drivers License #: 123-456-789", "123-456-789"),
            ],
        );
        misses_each(
            Kind::DriverLicense,
            &["driver license: VALID", "driver license checks pass 3 of 4"],
        );
        finds_each(
            Kind::AccountNumber,
            &[
                ("Customer number: 4471-2291", "4471-2291"),
                ("customer_id=ACME-00912 email=x", "ACME-00912"),
                ("\"accountId\": \"123456789012\"", "123456789012"),
                ("Contract no. C-2024-0117", "C-2024-0117"),
            ],
        );
        misses_each(
            Kind::AccountNumber,
            &[
                "account_id = ${ACCOUNT_ID}",
                "customer_id=none",
                "client_id: 42",
                "account number: 00000",
                "the customer number is wrong",
            ],
        );
        finds_each(
            Kind::DateOfBirth,
            &[
                ("Date of birth: 1984-03-12", "1984-03-12"),
                ("DOB: 12/03/1984", "12/03/1984"),
                ("\"birthDate\": \"1990-07-01\"", "1990-07-01"),
                ("born on 12 March 1984 in", "12 March 1984"),
                ("D.O.B. Mar 3rd, 1984", "Mar 3rd, 1984"),
            ],
        );
        misses_each(
            Kind::DateOfBirth,
            &[
                "Date: 1984-03-12",
                "date of birth unknown",
                "born 1984",
                "reborn 12/03/1984",
                "dobby 12/03/1984",
            ],
        );
    }

    #[test]
    fn a_host_named_by_its_label_before_a_path_or_after_a_clients_option() {
        finds_each(
            Kind::Hostname,
            &[
                ("nfs01:/export/home on /home type nfs", "nfs01"),
                ("mounts:\nnfs-02:/export/home /home nfs rw 0 0", "nfs-02"),
                ("scp app.log web-01:/tmp/", "web-01"),
                ("rsync -a jdoe@backup-02:/srv/ .", "backup-02"),
                ("mysql -h db-prod-01 -u admin appdb", "db-prod-01"),
                ("mysqldump -hdb-prod-01 app", "db-prod-01"),
                ("psql --host=pg-02 -U jdoe", "pg-02"),
                ("redis-cli -h cache-01 -p 6379", "cache-01"),
            ],
        );
        misses_each(
            Kind::Hostname,
            &[
                "copy s3://bucket/key now",
                "HTTP:/index.html",
                "C:/Users",
                "mount nfs:/export",
                "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
                "PATH=/usr/local/bin/X11:/usr/bin",
                "df -h /var-01",
                "ls -h web-01",
                "mysql -h localhost -u x",
                "sort -h db-01.txt",
            ],
        );
    }

    #[test]
    fn a_labelled_name_keeps_a_capital_after_its_hyphen_or_apostrophe() {
        finds_each(
            Kind::PersonName,
            &[
                ("Requester: Fatima Al-Hassan\n", "Fatima Al-Hassan"),
                ("Assignee: Patrick O'Neil\n", "Patrick O'Neil"),
            ],
        );
    }

    #[test]
    fn accounts_and_passwords_in_escaped_json_env_files_and_windows_events() {
        let har =
            r#"{"postData":{"text":"{\"username\":\"mkowalski\",\"password\":\"Sup3rS3cret!\"}"}}"#;
        finds(har, Kind::Username, "mkowalski");
        finds(har, Kind::Password, "Sup3rS3cret!");
        finds_each(
            Kind::Username,
            &[
                ("SPRING_DATASOURCE_USERNAME=svc_billing", "svc_billing"),
                ("POSTGRES_USER=app_owner\n", "app_owner"),
                ("TargetUserName: jsmith  IpAddress:", "jsmith"),
                (
                    "<Data Name=\"TargetUserName\">kwatanabe</Data>",
                    "kwatanabe",
                ),
                (
                    "<Data Name='SubjectUserName'>svc_backup</Data>",
                    "svc_backup",
                ),
            ],
        );
        misses_each(
            Kind::Username,
            &[
                "MAX_USER=5",
                "CURRENT_USER = root",
                "pub const LOG_USER: c_int = 1 << 3;",
                "PEM_USER = pem_recip_st",
                "git clone x C:\\cygwin\\home\\USER\\repo",
                "<Data Name=\"TargetUserName\">-</Data>",
                "TargetUserName: SYSTEM",
            ],
        );
        finds(
            "Security ID: S-1-5-21-3623811015-3361044348-30300820-1013 x",
            Kind::AccountNumber,
            "3623811015-3361044348-30300820-1013",
        );
        misses_each(
            Kind::AccountNumber,
            &["SID S-1-5-18", "S-1-5-32-544 Administrators"],
        );
        finds(
            "Authorization: Negotiate YIIHewYGKwYBBQUCoIIHbzCCB2ug",
            Kind::BearerToken,
            "YIIHewYGKwYBBQUCoIIHbzCCB2ug",
        );
        finds(
            "Proxy-Authorization: NTLM TlRMTVNTUAADAAAAGAAYAHgAAAA=",
            Kind::BearerToken,
            "TlRMTVNTUAADAAAAGAAYAHgAAAA=",
        );
        finds(
            "Cookie: .AspNetCore.Cookies=CfDJ8Kz9mN2pL7vR9sT1uW3yZ5aB6cD8eF0gH; x=1",
            Kind::Password,
            "CfDJ8Kz9mN2pL7vR9sT1uW3yZ5aB6cD8eF0gH",
        );
    }

    #[test]
    fn secrets_in_xml_registry_auths_vpn_and_wifi_configurations() {
        finds_each(
            Kind::Password,
            &[
                ("<password>N3xusPass!</password>", "N3xusPass!"),
                ("<apiToken>11a2b3c4d5e6f7a8</apiToken>", "11a2b3c4d5e6f7a8"),
                ("<ns:Password>S3cr3t99</ns:Password>", "S3cr3t99"),
                (
                    "{\"auth\":\"ZGVwbG95ZXI6RDNwbG95UGFzcyE=\"}",
                    "ZGVwbG95ZXI6RDNwbG95UGFzcyE=",
                ),
                ("network={ psk=\"W1fiPassw0rd!\" }", "W1fiPassw0rd!"),
                (
                    "PresharedKey = FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=",
                    "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=",
                ),
                (": PSK \"IpsecS3cret\"", "IpsecS3cret"),
                ("jdoe : EAP \"EapPass1\"", "EapPass1"),
                (
                    "_auth=YWRtaW46czNjcjN0UGFzcw==\n",
                    "YWRtaW46czNjcjN0UGFzcw==",
                ),
                (
                    "//npm.acme.com/repo/:_auth = \"YWRtaW46czNjcjN0UGFzcw==\"",
                    "YWRtaW46czNjcjN0UGFzcw==",
                ),
            ],
        );
        misses_each(
            Kind::Password,
            &[
                "<password></password>",
                "<password>${DB_PASSWORD}</password>",
                "<passwordPolicy>strict</passwordPolicy>",
                // Base64 that decodes to no `user:password` pair.
                "{\"auth\":\"dHJ1ZQ==\"}",
                "auth: true",
                "_auth=dHJ1ZQ==",
                "x_auth=YWRtaW46czNjcjN0UGFzcw==",
            ],
        );
        finds("<username>deployer</username>", Kind::Username, "deployer");
        let openvpn = "-----BEGIN OpenVPN Static key V1-----\ne685bdaf659a25a2\n-----END OpenVPN Static key V1-----";
        let pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----";
        finds_each(Kind::PrivateKey, &[(openvpn, openvpn), (pgp, pgp)]);
        misses(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----",
            Kind::PrivateKey,
        );
    }

    #[test]
    fn an_account_in_a_tickets_owner_field_is_a_user() {
        finds_each(
            Kind::Username,
            &[
                ("Owner: rgupta\n", "rgupta"),
                ("\"assignee\": \"jdoe\",", "jdoe"),
                ("Reporter: m.kowalski", "m.kowalski"),
                ("reported_by=svc_backup x", "svc_backup"),
            ],
        );
        misses_each(
            Kind::Username,
            &[
                "Owner: Support",
                "Assignee: Unassigned",
                "owner: str = None",
                "owner = self.owner",
                "owner: i32,",
                "f(owner=owner, group=group)",
                "owner: root",
                "created by: the script",
            ],
        );
    }

    #[test]
    fn a_weekday_starting_a_date_is_no_user() {
        misses_each(
            Kind::Username,
            &[
                "last login Tue Dec  1 08:55 on pts/0",
                "login Mon 30 Nov",
                "user Sunday, November 29",
            ],
        );
        finds("login Monday", Kind::Username, "Monday");
        finds("user fri from 10.0.0.1", Kind::Username, "fri");
    }

    #[test]
    fn a_kubernetes_node_named_by_its_label() {
        finds_each(
            Kind::Hostname,
            &[
                ("Node:         worker-node-05/10.0.1.5\n", "worker-node-05"),
                (
                    "Successfully assigned prod/checkout-7d9f8b6c5-x2kqp to worker-node-06\n",
                    "worker-node-06",
                ),
                ("  nodeName: worker-node-03\n", "worker-node-03"),
            ],
        );
        misses_each(
            Kind::Hostname,
            &[
                "Node: v18.2.0",
                "impl<T> Node: Clone for X",
                "Successfully assigned prod/x to localhost",
            ],
        );
    }

    #[test]
    fn javas_home_properties_are_no_hosts() {
        misses_each(
            Kind::Hostname,
            &[
                "java -Duser.home=/srv/app -jar app.jar",
                "user.home = /var/lib/app",
                "System.getProperty(\"user.home\")",
                "JAVA: java.home is /usr/lib/jvm",
            ],
        );
        finds("ping nas01.home now", Kind::Hostname, "nas01.home");
    }

    #[test]
    fn host_names_but_not_files_packages_or_methods() {
        finds_each(
            Kind::Hostname,
            &[
                ("connect to db1.corp.acme.com:5432", "db1.corp.acme.com"),
                ("node web01.prod.local is down", "web01.prod.local"),
                (
                    "photo https://www.OpportunityDebt.at/ now",
                    "www.OpportunityDebt.at",
                ),
                ("see disco.ltd now", "disco.ltd"),
                // A legal form's word that does not follow a space is no company's.
                ("mail.acme.com incoming", "mail.acme.com"),
                ("acme.com,ltd-west", "acme.com"),
                // Nor one on the next line, or one that starts a dotted name: krb5.conf's
                // realm before its domain.
                (
                    " .acme.com = CORP.ACME.COM\n corp.acme.com = x",
                    "CORP.ACME.COM",
                ),
                ("realm ACME.COM\nInc. is", "ACME.COM"),
                ("realm CORP.ACME.COM corp.acme.com", "CORP.ACME.COM"),
                // In a URL or after `www.`, a country's code that is also an extension
                // ends a host.
                ("see https://www.ChatRepair.pl/ now", "www.ChatRepair.pl"),
                ("see http://firma.pl/x now", "firma.pl"),
                ("see www.firma.rs now", "www.firma.rs"),
                ("short links on https://bit.cc/x", "bit.cc"),
                // A site under a top-level domain named like a member: in a URL, after
                // `www.`, in an address, or with a host before it.
                ("news at https://kompas.id/x", "kompas.id"),
                ("news at www.kompas.id today", "www.kompas.id"),
                ("see portal.kompas.id today", "portal.kompas.id"),
                // A file named after a host: the host without the extension.
                ("rotated web01.acme.com.1 kept", "web01.acme.com"),
                ("see web01.acme.com.LOG too", "web01.acme.com"),
                // A site is a site whatever its first label.
                ("docs at https://this.org/x", "this.org"),
                // A host keys an inventory; a port follows a host under any domain.
                ("web01.acme.com: {ip: 10.0.0.1}", "web01.acme.com"),
                ("web01.acme.com ansible_host=10.0.0.1", "web01.acme.com"),
                ("db1.acme.host:5432 refused", "db1.acme.host"),
                ("her site jane.doe.name says", "jane.doe.name"),
                ("open https://jane.doe.name: her page", "jane.doe.name"),
                ("spring.mail.host: smtp.acme.com", "smtp.acme.com"),
                // A capitalised top-level domain in a URL, a host a sentence imports
                // from, a host beside braces that open no template.
                ("see http://Acme.Com/x", "Acme.Com"),
                ("see www.Acme.Com", "www.Acme.Com"),
                ("data from web01.acme.com import done", "web01.acme.com"),
                ("from web01.acme.com: refused", "web01.acme.com"),
                ("import done on web01.acme.com", "web01.acme.com"),
                ("{host: web01.acme.com}", "web01.acme.com"),
            ],
        );
        misses_each(
            Kind::Hostname,
            &[
                // Code: a class's attribute with every word capitalised, a module a
                // Python line imports, an expression in a template.
                "        Name.Variable.Global: \"#8be9fd italic\",",
                "(r'\\d+', Literal.Date),",
                "from pygments.style import Style",
                "    from pygments.lexers.shell import BashLexer",
                "import email.mime.text",
                "provided in ${user.home}/.m2/toolchains.xml",
                "callback(null, `test ${event.data.name} dequeued`);",
                "host: {{ web01.acme.com }}",
                "loaded config.yaml",
                "at org.apache.catalina.core.StandardWrapper",
                "logger.info(msg)",
                "see InvoiceService.at for it",
                "the ACME Co.Ltd. office",
                "THK CO.LTD., and",
                // A company named after its site, with its legal form.
                "of Overstock.com Inc.'s board",
                "Wix.com Ltd. songwriter",
                "C3.ai, Inc. reported",
                "by Acme.io GmbH",
                "see readme.md",
                "run script.pl and main.rs",
                "// addon.cc",
                // An object's member, under a domain named like one.
                "If `options.safe` is `true`, the prime",
                "# If distro.name returns a useful string",
                "### DEP0014: `fs.read` legacy String interface",
                "console.log(err.name, evt.data, event.target)",
                "the worker's node.id and app.run",
                "compile `hello.cc` with node-gyp",
                // A host name inside a longer dotted name is no host unless the rest is a
                // file's extension.
                "import com.google.common;",
                "poll_read_buf(this.read.as_mut(), cx)",
                "assert_eq!(loc.id.language, lang)",
                "/etc/systemd/system/multi-user.target.wants/x",
                // A setting's key, under a domain that is also a key's last word.
                "spring.application.name=billing",
                "logging.file.name = app.log",
                "spring.mail.host: smtp",
                "  mail.host:",
                // A member in a traceback's source line, under a generic domain.
                "    return self.data[key]",
                "  if (this.name === undefined) {",
            ],
        );
        // A secret's or an account's key at the end of a dotted property's name.
        for (text, kind, value) in [
            (
                "spring.datasource.password=S3cretPassw0rd",
                Kind::Password,
                "S3cretPassw0rd",
            ),
            (
                "db.password : Hunter2Hunter2x",
                Kind::Password,
                "Hunter2Hunter2x",
            ),
            ("app.user=alice", Kind::Username, "alice"),
        ] {
            finds_only(text, kind, value);
        }
        // A property whose last label is no key gives nothing.
        for text in ["logging.level.root=INFO", "server.port: 8080"] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    #[test]
    fn a_start_read_back_from_the_end_is_the_regexs_start() {
        // From every position of each text, anchored there or not, the search that reads
        // a host's, an email's or an IPv4 address's start back from its end finds what the
        // multi-pattern regex finds, and so does the PikeVM it falls back to.
        let detectors = Detectors::new(&[], &[]).unwrap();
        // The three detectors whose start is read back are the email, IPv4 and host ones.
        let shaped: Vec<Kind> = (0..detectors.detectors.len())
            .filter(|&i| detectors.shapes[i].is_some())
            .map(|i| detectors.detectors[i].kind)
            .collect();
        assert_eq!(shaped, [Kind::Email, Kind::Ipv4, Kind::Hostname]);
        let patterns: Vec<&str> = detectors.detectors.iter().map(Detector::searched).collect();
        let regex = compile(&patterns).unwrap();
        let mut cache = detectors.all.caches.get();
        for text in [
            "at db1.corp.acme.com:5432 and -x.acme.com- or a..acme.com, a.-b.acme.com",
            "_db1.acme.com db1.acme.com_x x_y.acme.com 9.acme.com -.acme.com a-.b.com",
            "to jane.doe@acme.com, _x@acme.com, .a@acme.com, x_y@acme.com, a+b%c@acme.com",
            r"caf\u00e9@acme.com tom\u00e1s.acme.com @acme.com a@@acme.com a@b@acme.com",
            "tömas@acme.com Jürgen.acme.com Ødegård@acme.com",
            "from 10.1.2.3, 1.2.3.4.5, 1234.5.6.7, 1.2.3.4567, _1.2.3.4, v1.2.3.4, 10.1.2.3.nip.io",
            r#"{"ip":"\n192.168.0.1","host":"\nweb01.acme.com","to":"\nops@acme.com"}"#,
            "Hi Priya, call 020 7946 0958; user=alice; password=hunter2; fe80::1; Thanks,\nOlga",
            "Jane Doe <jane@acme.com> at https://bob:pw@git.acme.com/x 52:54:00:12:34:56",
        ] {
            let bytes = text.as_bytes();
            for at in 0..bytes.len() {
                for anchored in [Anchored::No, Anchored::Yes] {
                    let input = Input::new(bytes).range(at..).anchored(anchored);
                    let expected = regex.search(&input);
                    let found = detectors.search(&input, &mut cache);
                    assert_eq!(found, expected, "{text:?} from {at}, {anchored:?}");
                    let vm = &detectors.all.pikevm;
                    let pikevm = vm.find(cache.pikevm(vm), input);
                    assert_eq!(pikevm, expected, "PikeVM, {text:?} from {at}, {anchored:?}");
                }
            }
        }
    }

    #[test]
    fn host_names_in_a_run_are_what_the_pattern_finds() {
        let detectors = Detectors::new(&[], &[]).unwrap();
        for (text, expected) in [
            ("at db1.corp.acme.com:5432", &["db1.corp.acme.com"][..]),
            ("ping web01.acme.com.log now", &["web01.acme.com"]),
            ("-x.acme.com-", &["x.acme.com"]),
            ("a..acme.com", &["acme.com"]),
            ("_db1.acme.com", &["acme.com"]),
            ("db1.acme.com_x", &[]),
            ("com.acme.billing.InvoiceService", &[]),
            ("worker-4.service", &[]),
            ("v1.2.3", &[]),
            ("10.1.2.3.nip.io", &["10.1.2.3.nip.io"]),
        ] {
            let bytes = text.as_bytes();
            let whole: Vec<&[u8]> = detectors.host_names(bytes).collect();
            let by_pattern: Vec<&[u8]> = detectors
                .hosts
                .find_iter(bytes)
                .filter_map(|m| confirm(Check::Hostname, bytes, m.start(), m.end()))
                .map(|(s, e)| &bytes[s..e])
                .collect();
            let expected: Vec<&[u8]> = expected.iter().map(|e| e.as_bytes()).collect();
            assert_eq!(whole, expected, "{text}");
            assert_eq!(by_pattern, expected, "{text}");
            // Each run handed over alone, as the learning pass does.
            let mut runs = Vec::new();
            let mut at = 0;
            while let Some(dot) = bytes[at..].iter().position(|b| *b == b'.').map(|p| at + p) {
                let host = |b: &u8| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-';
                let run = run_around(bytes, dot, host);
                let end = run.end;
                runs.extend(detectors.host_names_in(bytes, run));
                at = end.max(dot + 1);
            }
            assert_eq!(runs, expected, "{text}, run by run");
        }
    }

    #[test]
    fn credentials_in_urls_headers_and_keys() {
        finds(
            "postgres://app:s3cr3t-Pa55@db.acme.com/prod",
            Kind::UrlPassword,
            "s3cr3t-Pa55",
        );
        finds(
            "Authorization: Bearer abcdef0123456789abcdef",
            Kind::BearerToken,
            "abcdef0123456789abcdef",
        );
        finds(
            "Authorization: Basic amRvZTpodW50ZXIy",
            Kind::BearerToken,
            "amRvZTpodW50ZXIy",
        );
        finds(
            "authorization: token ghx0123456789abcdef",
            Kind::BearerToken,
            "ghx0123456789abcdef",
        );
        // Elasticsearch's API keys and Okta's tokens have schemes of their own.
        finds(
            "Authorization: ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
            Kind::BearerToken,
            "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
        );
        finds(
            "authorization: SSWS 00QCjAl4MlV-WPXM-ABCDEFGHIJKL-0HmjFx-vbGua",
            Kind::BearerToken,
            "00QCjAl4MlV-WPXM-ABCDEFGHIJKL-0HmjFx-vbGua",
        );
        misses("Authorization: Basic realm", Kind::BearerToken);
        // A session's cookie lets whoever holds it in.
        finds(
            "Cookie: JSESSIONID=8F3E1C2D4B5A69788796A5B4C3D2E1F0; lang=en",
            Kind::Password,
            "8F3E1C2D4B5A69788796A5B4C3D2E1F0",
        );
        finds(
            "Set-Cookie: PHPSESSID=el4ukv0kqbvoirg7nkp4dncpk3; path=/",
            Kind::Password,
            "el4ukv0kqbvoirg7nkp4dncpk3",
        );
        finds("password=Hunter2Hunter2", Kind::Password, "Hunter2Hunter2");
        finds("\"pwd\": \"Tr0ub4dor&3\"", Kind::Password, "Tr0ub4dor&3");
        finds(
            "Server=db;User Id=sa;Password=P@ssw0rd!;",
            Kind::Password,
            "P@ssw0rd!",
        );
        misses("password=${DB_PASSWORD}", Kind::Password);
        misses("password: ********", Kind::Password);
        misses("        Token::I32(9999),", Kind::Password);
        misses(
            "let private_key = RsaPrivateKey::new(&mut rng)",
            Kind::Password,
        );
        finds("password=ab:cd9!", Kind::Password, "ab:cd9!");
        // The shell's working directory in `env` dumps and sudo lines is no password; the
        // user in it is found.
        misses(
            "sudo:   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root",
            Kind::Password,
        );
        misses("PWD=/srv/app\nOLDPWD=/tmp", Kind::Password);
        finds("PWD=/home/kwatanabe/src", Kind::Username, "kwatanabe");
        finds(
            "Driver={ODBC};UID=sa;PWD=Passw0rd;",
            Kind::Password,
            "Passw0rd",
        );
        finds("pwd=/Zx9!q2", Kind::Password, "/Zx9!q2");
        // Code that assigns a secret-named field a variable or a call's result.
        misses_each(
            Kind::Password,
            &[
                "        data.token = token;\n        x += 1;",
                "        io.token = Some(token);\n",
                // Python's statements, without the `;`.
                "        token = self.get_token()\n        event = Event(token)",
                "    password = getpass()\n",
                "        self.password = self.password\n",
                "        this.token = this.secret;\n",
                "    token = tokens.pop(i)\n",
                "/// const SENDER: Token = Token(0);",
                // A secret-named parameter's or field's type.
                "pub fn register(&self, token: Token, interests: Interest)",
                "    token: Literal,\n    suffix: Box<str>,",
                "    <Input as Stream>::Token: AsChar + Clone,",
                "fn decrypt(&self, password: impl AsRef<[u8]>) -> Result<Doc>",
                "fn add(&self, token: usize, t: &T)",
                "    token: usize\n}",
                "    secret: Option<Vec<u8>>,",
                "let token: Token = next();",
                // A test suite's log, and a command's output in a shell script.
                "\tPASS: config.sub checks (882 tests)",
                "  set PWD=`pwd` at the top",
            ],
        );
        // A value in a statement still is one where it is no bare name, is quoted, or is
        // no statement.
        for (text, value) in [
            ("export PASSWORD=hunter2x;\n", "hunter2x"),
            ("password = hunter2x; # the lab box\n", "hunter2x"),
            ("password = hunter2x\n", "hunter2x"),
            ("password = Hunter2x!;\n", "Hunter2x!"),
            ("token = abc(def;\n", "abc(def"),
            ("token = Some(token) ;\n", "Some(token"),
            ("token = f(g(h);\n", "f(g(h"),
            ("token = 9Lives;\n", "9Lives"),
            ("token = f(x!y);\n", "f(x!y"),
            ("password = self.hunter2!\n", "self.hunter2!"),
            ("password = self.x y\n", "self.x"),
            ("token = abc()x\n", "abc("),
            // A capitalised password where a line, a value or a quote ends; a word after
            // `impl`; a number in a call that is no statement.
            ("password: Hunter\n", "Hunter"),
            ("password: Hunter2x,\n", "Hunter2x"),
            ("password: usize2\n", "usize2"),
            ("password: impl\n", "impl"),
            ("token = abc(9)x\n", "abc(9"),
            ("Password: CorrectHorse", "CorrectHorse"),
            ("pass: config.sub\n", "config.sub"),
            ("password=Hunter, user=bob\n", "Hunter"),
            ("password: HUNTER, user: bob\n", "HUNTER"),
            ("password: usize now\n", "usize"),
        ] {
            finds(text, Kind::Password, value);
        }
    }

    #[test]
    fn secret_named_keys_whatever_comes_before_their_last_word() {
        finds_each(
            Kind::Password,
            &[
                ("DB_PASSWORD=hunter2xyz", "hunter2xyz"),
                ("  POSTGRES_PASSWORD: hunter2xyz", "hunter2xyz"),
                ("mysql-root-password = hunter2xyz", "hunter2xyz"),
                ("ldap_default_authtok = S3cr3t!Bind2024", "S3cr3t!Bind2024"),
                ("{\"dbPassword\": \"hunter2xyz\"}", "hunter2xyz"),
                ("ClientSecret=abcDEF123ghi", "abcDEF123ghi"),
                ("#BindPasswd: s3cr3tbind", "s3cr3tbind"),
                ("masterauth=abc123xyz", "abc123xyz"),
                // A name/value pair of a container's environment.
                (
                    "        env:\n        - name: DB_PASSWORD\n          value: hunter2xyz\n",
                    "hunter2xyz",
                ),
                (
                    "{\"name\":\"API_TOKEN\",\"value\":\"abc123def456\"}",
                    "abc123def456",
                ),
                // Configurations that set a key with a space.
                ("requirepass foobared2x", "foobared2x"),
                ("# comment\n  masterauth \"s3cr3t-Value\"", "s3cr3t-Value"),
                ("bindpw S3cr3t!Bind", "S3cr3t!Bind"),
                (
                    "rootpw {SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
                    "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
                ),
                ("\"password\": \"{CRYPT}$6$abc\"}", "{CRYPT}$6$abc"),
                (
                    "machine api.acme.com login alice password 01234abcdef",
                    "01234abcdef",
                ),
                // Still a value where code's shapes end a line or a quote holds them.
                ("colon_token: ty.colon_token\n", "ty.colon_token"),
                ("api_token: \"input.parse()\"", "input.parse()"),
                ("db_password: hunter_2,\n", "hunter_2"),
                ("db_password=0x1234567890abcdef12\n", "0x1234567890abcdef12"),
                // One of several, by environment, role or number.
                ("DB_PASSWORD_PRIMARY=Tr0ub4dor-and-3", "Tr0ub4dor-and-3"),
                ("REDIS_PASSWORD_2=hunter2hunter", "hunter2hunter"),
                ("API_KEY_STAGING: hunter2hunter", "hunter2hunter"),
                ("  password_prod: \"Winter2024!\"", "Winter2024!"),
                ("export smtp-password-old=Summer2023", "Summer2023"),
            ],
        );
        misses_each(
            Kind::Password,
            &[
                // A key whose secret word is not its last (`password_length`), or glued to
                // the word before it (`bypass`, `OLDPWD`).
                "password_length = 12345678",
                // A word past the list of qualifiers, a qualifier glued to more, or a
                // man page's section (`update-passwd.8: Document …`).
                "PASSWORD_MIN_LENGTH=8",
                "TOKEN_TTL_SECONDS=3600",
                "password_production_only=enabled-by-ops",
                "api_key_prodution: enabled",
                "  * update-passwd.8: Document that the file is read",
                "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:",
                "- name: PASSWORD_LENGTH\n  value: \"12345678\"",
                "# set requirepass to enable it\nrequirepass ${REDIS_PASS}",
                "the login page password field",
                "bypass=abcdefgh",
                // Code: C types, pointers, macros, calls and fields.
                "pub const SYS_memfd_secret: c_long = 447;",
                "pub log_passwd: __u32,\n",
                "        pub pw_passwd: *mut c_char,",
                "    pub semi_token: Token![;],",
                "        sig.generics.lt_token = Some(Token![<](sig.ident.span()));",
                "    let expected_shared_secret =\n        hex!(\"5166f24a\");",
                "            semi_token: input.parse()?,",
                "    let cloned_token = cancellation_token.clone(); // for later",
                "                            colon_token: ty.colon_token,",
                "    DEVSTAT_MATCH_PASS = 0x04,",
                "                    node_token = current_ast_node.value\n",
            ],
        );
    }

    #[test]
    fn accounts_hosts_and_passwords_of_prompts_keys_and_command_lines() {
        let cases: &[(&str, &[(Kind, &str)])] = &[
            (
                "[jdoe@ws-jdoe-0142 ~]$ sudo systemctl status postgresql",
                &[(Kind::Username, "jdoe"), (Kind::Hostname, "ws-jdoe-0142")],
            ),
            // `root` names no one; its host is still the customer's.
            (
                "[root@db03 /var/log]# tail messages",
                &[(Kind::Hostname, "db03")],
            ),
            (
                "jdoe@ws-jdoe-0142:~/src$ make",
                &[(Kind::Username, "jdoe"), (Kind::Hostname, "ws-jdoe-0142")],
            ),
            (
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9x mkowalski@laptop-mk",
                &[(Kind::Username, "mkowalski"), (Kind::Hostname, "laptop-mk")],
            ),
            (
                "curl -u alice:S3cretPw https://10.0.0.1/status",
                &[
                    (Kind::Username, "alice"),
                    (Kind::Password, "S3cretPw"),
                    (Kind::Ipv4, "10.0.0.1"),
                ],
            ),
            (
                "curl --user 'alice:S3cretPw' -k",
                &[(Kind::Username, "alice"), (Kind::Password, "S3cretPw")],
            ),
            (
                "mysql -u dbadmin -pS3cretPass! billing",
                &[(Kind::Username, "dbadmin"), (Kind::Password, "S3cretPass!")],
            ),
            (
                "/usr/bin/mysqldump -ujdoe -p'S3cret' db",
                &[(Kind::Username, "jdoe"), (Kind::Password, "S3cret")],
            ),
            ("psql -h db -U jdoe billing", &[(Kind::Username, "jdoe")]),
            ("sudo -u postgres psql -U jdoe", &[(Kind::Username, "jdoe")]),
            (
                "PGPASSWORD=hunter22 psql -h db",
                &[(Kind::Password, "hunter22")],
            ),
            (
                "docker login -u tkowalski -p Dock3rPass registry",
                &[
                    (Kind::Username, "tkowalski"),
                    (Kind::Password, "Dock3rPass"),
                ],
            ),
            (
                "podman login --password Dock3rPass quay",
                &[(Kind::Password, "Dock3rPass")],
            ),
            (
                "sshpass -p 'Sup3rSecret' scp a b",
                &[(Kind::Password, "Sup3rSecret")],
            ),
            (
                "redis-cli -h cache -a R3disPass ping",
                &[(Kind::Password, "R3disPass")],
            ),
            (
                "ldapsearch -x -D cn=admin,dc=acme,dc=com -w Adm1nPw0rd -b dc=acme,dc=com",
                &[
                    (Kind::Hostname, "acme,dc=com"),
                    (Kind::Password, "Adm1nPw0rd"),
                    (Kind::Hostname, "acme,dc=com"),
                ],
            ),
            ("ssh -l jdoe db03", &[(Kind::Username, "jdoe")]),
            // An SSH or copy command's destination, or an account at an address.
            (
                "ssh alice@10.0.0.7 uptime",
                &[(Kind::Username, "alice"), (Kind::Ipv4, "10.0.0.7")],
            ),
            (
                "scp f.tgz mkowalski@web-07:/tmp/",
                &[(Kind::Username, "mkowalski"), (Kind::Hostname, "web-07")],
            ),
            (
                "ssh -i ~/.ssh/id_ed25519 alice@bastion 'df -h'",
                &[(Kind::Username, "alice"), (Kind::Hostname, "bastion")],
            ),
            ("scp f.tgz root@10.0.0.8:/tmp/", &[(Kind::Ipv4, "10.0.0.8")]),
            (
                "[jdoe@10.1.1.1 ~]$ ls",
                &[(Kind::Username, "jdoe"), (Kind::Ipv4, "10.1.1.1")],
            ),
            (
                "git clone git@10.0.0.5:grp/repo.git",
                &[(Kind::Ipv4, "10.0.0.5")],
            ),
            (
                "ssh -p 2222 -i key -l jdoe db03",
                &[(Kind::Username, "jdoe")],
            ),
            // Another detector's context after an option of no such command.
            ("foo --user alice", &[(Kind::Username, "alice")]),
            (
                "jdbc:oracle:thin:scott/Tiger42@10.0.0.9:1521/ORCL",
                &[
                    (Kind::Username, "scott"),
                    (Kind::Password, "Tiger42"),
                    (Kind::Ipv4, "10.0.0.9"),
                ],
            ),
            (
                "sqlplus -s jdoe/S3cret#1@orcl",
                &[(Kind::Username, "jdoe"), (Kind::Password, "S3cret#1")],
            ),
            // `sys` is everyone's; its password is still a secret.
            ("expdp sys/Manag3r@db", &[(Kind::Password, "Manag3r")]),
            // A computer's account names its host.
            (
                "Account Name:\t\tWS-JDOE-0142$",
                &[(Kind::Hostname, "WS-JDOE-0142")],
            ),
            ("by CORP\\DC01$ now", &[(Kind::Hostname, "DC01")]),
            (
                "ws01$:x:1001:515::/dev/null:/bin/false",
                &[(Kind::Hostname, "ws01")],
            ),
        ];
        finds_exactly(cases);
        finds_no_account_password_or_host(&[
            "mkdir -p /var/lib/app",
            "gcc -pthread -o app main.c",
            "grep -w pattern app.log",
            // `@` after no SSH or copy command, or before a version or a digest.
            "echo alice@db-03",
            "uses: actions/checkout@v4",
            "npm i lodash@4.17.21",
            "image: nginx@sha256:4f1e2d",
            "ssh alice@localhost",
            "ping -w 5 gateway",
            "sort -u names.txt",
            "ssh -p 2222 admin",
            // A space after mysql's `-p` makes it ask; `billing` is a database.
            "mysql -p billing",
            "docker run -u 1000:1000 alpine",
            "sudo -u postgres vacuumdb",
            "docker login -u \"$REGISTRY_USER\" -p \"$REGISTRY_PASSWORD\"",
            "root@localhost:~# uptime",
            "curl -u \"$USER:$TOKEN\" https://api",
            "tar -cf - . | ssh -C -l root db",
            // The remote command's own option.
            "ssh db03 ls -l logs",
            // No password, or a path's slash.
            "sqlplus / as sysdba",
            "sqlplus jdoe@orcl",
            "see docs/setup@v2 for exp",
        ]);
    }

    #[test]
    fn a_network_devices_secrets_and_names_but_not_its_masks() {
        let cases: &[(&str, &[(Kind, &str)])] = &[
            ("hostname core-sw-01", &[(Kind::Hostname, "core-sw-01")]),
            (
                "$ sudo hostnamectl set-hostname db-03",
                &[(Kind::Hostname, "db-03")],
            ),
            (
                "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0",
                &[(Kind::Password, "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0")],
            ),
            (
                "username netadmin privilege 15 secret 9 $9$nhEmQVczB7dqsO$X.Hsg",
                &[
                    (Kind::Username, "netadmin"),
                    (Kind::Password, "$9$nhEmQVczB7dqsO$X.Hsg"),
                ],
            ),
            (
                "snmp-server community Publ1cRO RO 10",
                &[(Kind::Password, "Publ1cRO")],
            ),
            (
                "tacacs-server host 10.1.1.5 key 7 0822455D0A16",
                &[(Kind::Ipv4, "10.1.1.5"), (Kind::Password, "0822455D0A16")],
            ),
            (
                "crypto isakmp key VpnPr3Shared address 10.9.9.9",
                &[(Kind::Password, "VpnPr3Shared"), (Kind::Ipv4, "10.9.9.9")],
            ),
            (
                " ntp authentication-key 1 md5 NtpK3y99",
                &[(Kind::Password, "NtpK3y99")],
            ),
            (
                "wpa-psk ascii 0 WifiPassw0rd",
                &[(Kind::Password, "WifiPassw0rd")],
            ),
            // A mask or a wildcard is the network's shape, no one's address.
            (
                " ip address 10.10.10.1 255.255.255.0",
                &[(Kind::Ipv4, "10.10.10.1")],
            ),
            (
                "access-list 10 permit 10.0.0.0 0.0.0.255",
                &[(Kind::Ipv4, "10.0.0.0")],
            ),
            (
                "route add 255.255.255.7 via 10.0.0.1",
                &[(Kind::Ipv4, "255.255.255.7"), (Kind::Ipv4, "10.0.0.1")],
            ),
            // A URL's host by its one label, after its scheme or its userinfo.
            (
                "amqp://guest:Gu3st99@rabbit-02:5672",
                &[
                    (Kind::UrlPassword, "Gu3st99"),
                    (Kind::Hostname, "rabbit-02"),
                ],
            ),
            (
                "see http://web-01:8080/status",
                &[(Kind::Hostname, "web-01")],
            ),
            (
                "Server=x;User ID=svc_ledger2;",
                &[(Kind::Username, "svc_ledger2")],
            ),
            // In prose a user ID is a thing; only assigned is it an account's.
            ("a user ID packet", &[]),
            (
                "set system login user jdoe authentication",
                &[(Kind::Username, "jdoe")],
            ),
            (
                "open \\\\fs01\\users\\jdoe\\Documents",
                &[(Kind::Hostname, "fs01"), (Kind::Username, "jdoe")],
            ),
            (
                "Author: kwatanabe <kwatanabe@users.example.org>",
                &[
                    (Kind::Username, "kwatanabe"),
                    (Kind::Email, "kwatanabe@users.example.org"),
                ],
            ),
            // A password's key in prose is still the key detector's.
            ("my password = hunter22", &[(Kind::Password, "hunter22")]),
        ];
        finds_exactly(cases);
        finds_no_account_password_or_host(&[
            "press the key 5 times",
            "the secret ingredient",
            "hostname is core",
            "hostname -f",
            "mail jdoe@ws01 now",
            "http://localhost:8080/",
            "file:///etc/hosts",
            "Author: bob <alice@acme.com>",
        ]);
    }

    #[test]
    fn accounts_and_domains_in_directory_names() {
        let dn =
            "ldap_default_bind_dn = CN=svc_sssd,OU=Service Accounts,DC=corp,DC=acme-bank,DC=com";
        finds(dn, Kind::Username, "svc_sssd");
        finds(dn, Kind::Hostname, "corp,DC=acme-bank,DC=com");
        let person = "dn: cn=John Doe,ou=people, dc=acme, dc=com";
        finds(person, Kind::Username, "John Doe");
        finds(person, Kind::Hostname, "acme, dc=com");
        // A host as a common name is the host-name detector's.
        let host = "CN=db03.corp.acme.com,OU=Servers,DC=corp,DC=acme,DC=com";
        finds(host, Kind::Hostname, "db03.corp.acme.com");
        misses_each(
            Kind::Username,
            &[
                host,
                "CN=Users,DC=corp,DC=acme,DC=com",
                "CN=Domain Admins,CN=Users,DC=corp,DC=acme,DC=com",
                // A certificate's subject is rooted in no domain.
                "subject=CN=Jane Roe,O=Acme Ltd,C=GB",
            ],
        );
        misses_each(
            Kind::Hostname,
            &["ripple DC=5V,DC=6Z", "x DC=corp y", "DC=acme,OU=x"],
        );
    }

    #[test]
    fn private_keys_in_base64_and_paths_to_them() {
        let rsa = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBdGVzdA==";
        let ec = "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJ0ZXN0";
        let ssh = "LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0K";
        finds(&format!("  tls.key: {rsa}\n"), Kind::PrivateKey, rsa);
        finds(
            &format!("    client-key-data: {ec}\n"),
            Kind::PrivateKey,
            ec,
        );
        finds(
            &format!("{{\"id_ed25519\":\"{ssh}\"}}"),
            Kind::PrivateKey,
            ssh,
        );
        // A certificate is public.
        misses(
            "    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=\n",
            Kind::PrivateKey,
        );
        finds(
            "  .dockerconfigjson: eyJhdXRocyI6eyJyZWdpc3RyeS5hY21lLmNvbSI6e30=",
            Kind::Password,
            "eyJhdXRocyI6eyJyZWdpc3RyeS5hY21lLmNvbSI6e30=",
        );
        // A key's file is no secret; a password that starts with a slash is one.
        misses("private_key: /etc/ssl/private/server.key", Kind::Password);
        finds("password: /Zx9!q2/a", Kind::Password, "/Zx9!q2/a");
        finds("password: /Zx9q2abc", Kind::Password, "/Zx9q2abc");
    }

    #[test]
    fn hosts_named_by_one_label_after_their_label_or_as_a_share() {
        finds_each(
            Kind::Hostname,
            &[
                (
                    "   Host Name . . . . . . . . . . . . : WS-JDOE-0142\n",
                    "WS-JDOE-0142",
                ),
                ("Host Name:                 WS-JDOE-0142\n", "WS-JDOE-0142"),
                ("\tWorkstation Name:\tWS-MKOWALSKI\n", "WS-MKOWALSKI"),
                ("   Static hostname: db03\n", "db03"),
                ("COMPUTERNAME=WS-0142", "WS-0142"),
                ("HOSTNAME=db03\nPATH=/usr/bin", "db03"),
                ("\"hostname\": \"web-7\",", "web-7"),
                ("Host Name: FILESRV\n", "FILESRV"),
                ("Logon Server:              \\\\DC01\n", "DC01"),
                ("LOGONSERVER=\\\\DC01", "DC01"),
                ("Mapped drive \\\\FILESRV\\home$\\x", "FILESRV"),
                // A full name after the label is the whole host.
                ("Host Name: db03.corp.acme.com\n", "db03.corp.acme.com"),
            ],
        );
        misses_each(
            Kind::Hostname,
            &[
                "hostname: localhost\n",
                "Host Name: <none>\n",
                "HOSTNAME=${HOST}",
                "printf(\"\\\\n\")",
                "    b\"\\\\x08\\\\x10\",",
                "see `smtp://user:pass@hostname:port`",
                "C:\\\\\\\\u00e1s@acme.com",
                "hostname: 127\n",
                "host_name = self.host_name",
                "\thostname: simplify\n\t* src/hostname.c",
                "            hostname = trimmed;",
                "HOSTNAME=LOCALHOST",
                "Host Name: UNKNOWN\n",
            ],
        );
        // A thing's `Name:` field names no person.
        misses_each(
            Kind::PersonName,
            &[
                "OS Name:                   Microsoft Windows 11 Enterprise",
                "Product Name: Dell Latitude",
                "service_name = Billing Export",
            ],
        );
        finds("Name: John Doe\n", Kind::PersonName, "John Doe");
        finds("Display Name: John Doe\n", Kind::PersonName, "John Doe");
        misses_each(
            Kind::Username,
            &["USER INFORMATION\n----", "Logon Server:  \\\\DC01"],
        );
    }

    #[test]
    fn a_netrc_entrys_host_account_and_password() {
        finds_exactly(&[
            (
                "machine api.acme.com login alice password s3cr3tNetrc",
                &[
                    (Kind::Hostname, "api.acme.com"),
                    (Kind::Username, "alice"),
                    (Kind::Password, "s3cr3tNetrc"),
                ],
            ),
            (
                "machine git-02\n  login bob\n  password g1tPassw0rd\n",
                &[
                    (Kind::Hostname, "git-02"),
                    (Kind::Username, "bob"),
                    (Kind::Password, "g1tPassw0rd"),
                ],
            ),
            (
                "machine localhost login root password t00rPass",
                &[(Kind::Password, "t00rPass")],
            ),
            // A host whose name holds the keyword; a quoted password.
            (
                "machine mymachine.acme.com login alice password \"s3cr3t Netrc\"",
                &[
                    (Kind::Hostname, "mymachine.acme.com"),
                    (Kind::Username, "alice"),
                    (Kind::Password, "s3cr3t Netrc"),
                ],
            ),
            // The `default` entry: an account and a password, no host.
            (
                "machine ftp.acme.com login bob password hunter2-long\ndefault login jdoe password s3cr3tPassw0rd\n",
                &[
                    (Kind::Hostname, "ftp.acme.com"),
                    (Kind::Username, "bob"),
                    (Kind::Password, "hunter2-long"),
                    (Kind::Username, "jdoe"),
                    (Kind::Password, "s3cr3tPassw0rd"),
                ],
            ),
        ]);
        // No entry: a password's word alone, or a `machine` or `default` that is no entry's.
        misses_each(
            Kind::Password,
            &[
                "machine api.acme.com login alice",
                "the machine login screen asks for the password first",
                "machine api.acme.com login alice password ${NETRC_PASSWORD}",
                "the default login password is printed on the label",
                "default login root password",
            ],
        );
    }

    #[test]
    fn full_names_in_a_list_of_people() {
        finds_exactly(&[
            (
                "Attendees: Jamal Haddad, Yuki Sato and Lars Eriksson\n",
                &[
                    (Kind::PersonName, "Jamal Haddad"),
                    (Kind::PersonName, "Yuki Sato"),
                    (Kind::PersonName, "Lars Eriksson"),
                ],
            ),
            (
                "cc: Jamal Haddad, Yuki Sato\n",
                &[
                    (Kind::PersonName, "Jamal Haddad"),
                    (Kind::PersonName, "Yuki Sato"),
                ],
            ),
            (
                "  - Cc: Priya Raman, Ken Watanabe\n",
                &[
                    (Kind::PersonName, "Priya Raman"),
                    (Kind::PersonName, "Ken Watanabe"),
                ],
            ),
            // The list ends at an item that names no one, and at its line's end.
            (
                "Present: Ana Souza, Tier Two, Mei Tanaka\nBob Stone, Lee Park",
                &[(Kind::PersonName, "Ana Souza")],
            ),
            (
                "Attendees: Jamal Haddad, and Yuki O'Neil-Sato.",
                &[
                    (Kind::PersonName, "Jamal Haddad"),
                    (Kind::PersonName, "Yuki O'Neil-Sato"),
                ],
            ),
        ]);
        misses_each(
            Kind::PersonName,
            &[
                // A list on a line no people's field starts; teams in a people's list.
                "Affected: Network Operations, Data Center and Tier Two",
                "regions: Europe West, North Europe and East Asia",
                "Attendees: Network Operations, Microsoft Support",
                "see Chapter One, Part Two and Book Three",
            ],
        );
    }

    #[test]
    fn a_name_as_the_value_of_a_field_for_a_part_of_it() {
        finds_each(
            Kind::PersonName,
            &[
                ("{\"firstName\": \"Piotr\", \"id\": 7}", "Piotr"),
                ("{\"lastName\":\"Nowak\"}", "Nowak"),
                ("  given_name: Chidi\n", "Chidi"),
                ("family_name=Okeke&x=1", "Okeke"),
                ("<FamilyName>Okeke</FamilyName>", "Okeke"),
                ("\"contact_name\": \"Mei Tanaka\"", "Mei Tanaka"),
                ("customer_full_name => 'Olena Kovalenko'", "Olena Kovalenko"),
                ("Surname: Eriksson", "Eriksson"),
                ("{\\\"firstName\\\":\\\"Piotr\\\"}", "Piotr"),
            ],
        );
        misses_each(
            Kind::PersonName,
            &[
                // Code's fields and their types; a bare `name`'s value; no capital.
                "    pub first_name: String,",
                "  lastName: Optional<str>;",
                "first_name: Vec<u8>",
                "\"last_name\": null",
                "    first_name = Faker.first_name()",
                "last_name = Column(String(64))",
                // Azure's and Graph's every object has a display name.
                "{\"displayName\": \"Contoso Web\", \"appId\": \"x\"}",
                "hostname: Webserver",
                "\"firstName\": \"\"",
                "first_name = request.form",
                // A form's or a locale file's label for the field.
                "  first_name: First name\n",
                "  surname: \"Surname\"\n",
                "\"lastName\": \"Last Name\"",
            ],
        );
    }

    #[test]
    fn the_cells_of_a_tables_columns_named_for_people_accounts_and_phones() {
        let csv = "id,first_name,last_name,email,phone,username,city\n\
                   1,Piotr,Nowak,piotr.nowak@example.org,+48 512 345 678,pnowak,Krakow\n\
                   2,N/A,O'Neil,,+81 3-1234-5678,root,Cork\n\
                   3,Mei,Tanaka,,2026-01-03T10:00,jane@example.org,Osaka\n";
        finds_exactly(&[(
            csv,
            &[
                (Kind::PersonName, "Piotr"),
                (Kind::PersonName, "Nowak"),
                (Kind::Email, "piotr.nowak@example.org"),
                (Kind::Phone, "+48 512 345 678"),
                (Kind::Username, "pnowak"),
                // `N/A` is no name, `root` an account every system has.
                (Kind::PersonName, "O'Neil"),
                (Kind::Phone, "+81 3-1234-5678"),
                // A time in a phone's column is none; an email address in an account's
                // column is found once, as an email address.
                (Kind::PersonName, "Mei"),
                (Kind::PersonName, "Tanaka"),
                (Kind::Email, "jane@example.org"),
            ],
        )]);
        // A phone's column read as a phone's label reads it: no date, version or address.
        for value in ["2026-01-03", "4.12.1203", "10.20.30.40", "12345"] {
            let text = format!("first_name,phone\nAna,{value}\n");
            let found: Vec<Kind> = kinds(&text).into_iter().map(|(k, _)| k).collect();
            assert!(!found.contains(&Kind::Phone), "{value}: {found:?}");
        }
        // A value the policy allows stays.
        let detectors = Detectors::new(&[], &[])
            .unwrap()
            .allowing(crate::allow::Allowed::new(&["Nowak".to_string()], &[]).unwrap());
        let text = "first_name,last_name\nPiotr,Nowak\n";
        let found: Vec<&str> = detectors
            .find(text.as_bytes())
            .iter()
            .map(|f| &text[f.start..f.end])
            .collect();
        assert_eq!(found, ["Piotr"]);
        // A MySQL dump's values, its quotes escaped with a backslash.
        let dump = "CREATE TABLE `c` (\n  `id` int,\n  `last_name` text,\n  `phone` text\n);\n\
                    INSERT INTO `c` VALUES (1,'O\\'Sullivan','087 123 4567'),(2,'a\\\\b',NULL);\n";
        finds_exactly(&[(
            dump,
            &[
                (Kind::PersonName, "O\\'Sullivan"),
                (Kind::Phone, "087 123 4567"),
            ],
        )]);
    }

    #[test]
    fn a_secret_in_a_table_of_keys_and_values() {
        let creds = "Key                Value\n---                -----\nlease_id           database/creds/app/x1\nlease_renewable    true\npassword           A1a-8kdLs9dk3Q\nusername           v-token-app-x1\n";
        finds(creds, Kind::Password, "A1a-8kdLs9dk3Q");
        let approle = "secret_id             9f0c7a2e-4b1d-4e8a-b7c3-2d5e6f708192\r\nsecret_id_ttl         0s\r\n";
        finds(
            approle,
            Kind::Password,
            "9f0c7a2e-4b1d-4e8a-b7c3-2d5e6f708192",
        );
        finds(
            "access_key    AKIAIOSFODNN7EXAMPLE\nsecret_key    wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
            Kind::Password,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        misses_each(
            Kind::Password,
            &[
                // A table of options: prose after the key.
                "password           The password to log in with\n",
                // One space, a key not at the line's start, a placeholder, a secret's id
                // that does not read as random.
                "password A1a-8kdLs9dk3Q\n",
                "  the password     A1a-8kdLs9dk3Q\n",
                "password           ********\n",
                "secret_id          prod-db\n",
            ],
        );
    }

    #[test]
    fn the_host_of_a_syslog_line() {
        for (line, host) in [
            (
                "Dec  5 10:00:01 web-03 sshd[991]: Accepted publickey for jdoe",
                "web-03",
            ),
            (
                "Dec 15 10:00:01 mailhost postfix/smtpd[7]: connect",
                "mailhost",
            ),
            ("2026-12-05T10:00:01+00:00 db-07 kernel: eth0 up", "db-07"),
            (
                "2026-12-05T10:00:01.120Z k8s-node-7 systemd[1]: Started",
                "k8s-node-7",
            ),
        ] {
            assert_eq!(
                syslog_host(line.as_bytes()),
                Some(host.as_bytes()),
                "{line}"
            );
        }
        // No host where the header has none, or names the machine itself.
        for line in [
            "Dec  5 10:00:04 localhost CRON[5]: run",
            "Dec  5 10:00:01 kernel: [ 0.000000] Linux version",
            "Summary: 3 hosts ok",
            "2026-12-05 10:00:01 INFO worker started",
            "2026-12-05T10:00:01Z INFO worker started",
            "Dec  5 10:00:01 web_03 sshd[991]: x",
            "Dec  5 1000:01:0 web-03 sshd[991]: x",
            "Run  5 10:00:01 web-03 sshd[991]: x",
        ] {
            assert_eq!(syslog_host(line.as_bytes()), None, "{line}");
        }
    }

    #[test]
    fn the_nodes_a_kubectl_table_names() {
        let text = "$ kubectl get pods -o wide\n\
            NAME       READY   STATUS    IP           NODE                         NOMINATED NODE\n\
            api-7f9c   1/1     Running   10.244.1.7   gke-prod-pool-1a2b3c4d-xk9p   <none>\n\
            db-0       1/1     Pending   <none>       <none>                       <none>\n\
            cut-short  1/1\n\
            $ kubectl get nodes\r\n\
            NAME            STATUS   ROLES    AGE   VERSION\r\n\
            k8s-worker-03   Ready    <none>   40d   v1.29.3\r\n\
            ip-10-0-1-2.ec2.internal   Ready    <none>   40d   v1.29.3\r\n\
            \n\
            after-table-7 is no row\n\
            NAME       READY   STATUS    RESTARTS   AGE\n\
            web-5d8f   1/1     Running   0          3d\n\
            NAME   READY   NOMINATED NODE\n\
            x-1    1/1     node-9\n";
        let nodes: Vec<&[u8]> = Detectors::kubectl_nodes(text.as_bytes()).collect();
        // A dotted name is found by the host detector; `<none>`, a pod's name in a table
        // without a node column, a line after the table's end and a nominated node are no
        // node to learn.
        assert_eq!(
            nodes,
            [&b"gke-prod-pool-1a2b3c4d-xk9p"[..], b"k8s-worker-03"],
            "{text}"
        );
    }

    #[test]
    fn a_redis_acl_password_and_a_share_written_with_slashes() {
        finds_exactly(&[
            (
                "user alice on >Red1sAclPw ~* +@all",
                &[(Kind::Username, "alice"), (Kind::Password, "Red1sAclPw")],
            ),
            (
                "127.0.0.1:6379> ACL SETUSER worker on >W0rkerPw ~jobs:*",
                &[(Kind::Ipv4, "127.0.0.1"), (Kind::Password, "W0rkerPw")],
            ),
            // AUTH at the prompt, with or without an account, and as MONITOR prints it.
            (
                "127.0.0.1:6379> AUTH s3cr3t-redis-pass",
                &[
                    (Kind::Ipv4, "127.0.0.1"),
                    (Kind::Password, "s3cr3t-redis-pass"),
                ],
            ),
            (
                "cache:6379> auth default Sup3rS3cret",
                &[(Kind::Password, "Sup3rS3cret")],
            ),
            (
                "1733392800.123456 [0 10.0.0.5:52211] \"AUTH\" \"worker\" \"W0rkerPw\"",
                &[(Kind::Ipv4, "10.0.0.5"), (Kind::Password, "W0rkerPw")],
            ),
            (
                "mount -t cifs //fs01/share /mnt -o username=rgupta",
                &[(Kind::Hostname, "fs01"), (Kind::Username, "rgupta")],
            ),
            (
                "//nas-02/backup  /srv/backup  cifs  credentials=/etc/smb.cred 0 0",
                &[(Kind::Hostname, "nas-02")],
            ),
        ]);
        misses_each(
            Kind::Password,
            &[
                "cat app.log >filtered.log",
                "user alice on >${REDIS_PASSWORD} ~*",
                "if (count >limit) return",
                "[ERROR] auth failed for client",
                "2026-12-05 [worker] \"auth\" failed",
                "127.0.0.1:6379> AUTH ${REDIS_PASSWORD}",
            ],
        );
        misses_each(
            Kind::Hostname,
            &["// TODO/fix later", "//share/x", "path a//b-2/c"],
        );
    }

    #[test]
    fn windows_and_php_scripts_keep_no_account_server_or_password() {
        finds_exactly(&[
            (
                r"net use \\fs01\share /user:CORP\jdoe N3tUseP@ss",
                &[
                    (Kind::Hostname, "fs01"),
                    (Kind::Username, "jdoe"),
                    (Kind::Password, "N3tUseP@ss"),
                ],
            ),
            // `*` asks for the password; a switch is none.
            (
                r"net use Z: \\fs01\share /user:CORP\jdoe *",
                &[(Kind::Hostname, "fs01"), (Kind::Username, "jdoe")],
            ),
            (
                r"NET USE \\fs01\share /u:CORP\jdoe /persistent:no",
                &[(Kind::Hostname, "fs01"), (Kind::Username, "jdoe")],
            ),
            (r"runas /user:CORP\jdoe cmd", &[(Kind::Username, "jdoe")]),
            (
                r"psexec \\web-01 -u CORP\jdoe -p Ps3x3cPw cmd",
                &[
                    (Kind::Hostname, "web-01"),
                    (Kind::Username, "jdoe"),
                    (Kind::Password, "Ps3x3cPw"),
                ],
            ),
            (r"net view \\FS01", &[(Kind::Hostname, "FS01")]),
            (
                "$pw = ConvertTo-SecureString \"P0wershell Pw!\" -AsPlainText -Force",
                &[(Kind::Password, "P0wershell Pw!")],
            ),
            (
                "<AdministratorPassword>\n  <Value>UABhAHMAcwB3AG8AcgBkAA==</Value>",
                &[(Kind::Password, "UABhAHMAcwB3AG8AcgBkAA==")],
            ),
            (
                "<user username=\"tomcatadm\" password=\"T0mcatPw!\" roles=\"manager-gui\"/>",
                &[(Kind::Username, "tomcatadm"), (Kind::Password, "T0mcatPw!")],
            ),
            (
                "define('DB_PASSWORD', 'wpP4ssw0rd');",
                &[(Kind::Password, "wpP4ssw0rd")],
            ),
            (
                "define( 'AUTH_KEY', 'x7#Lk2@pQ9!mZ4$wR8^tY1&vB6*nC3' );",
                &[(Kind::Password, "x7#Lk2@pQ9!mZ4$wR8^tY1&vB6*nC3")],
            ),
            (
                "docker run -e PGUSER=svc_app postgres:16",
                &[(Kind::Username, "svc_app")],
            ),
        ]);
        misses_each(
            Kind::Password,
            &[
                r"echo /user:CORP\jdoe secretword",
                "$s = ConvertTo-SecureString $plain -AsPlainText -Force",
                "ConvertTo-SecureString \"$env:APP_PW\" -AsPlainText",
                "define('DB_NAME', 'wordpress');",
                "define('WP_DEBUG', false);",
            ],
        );
        // A drive's path in a string, not a server.
        misses_each(
            Kind::Hostname,
            &[
                r#"dir "C:\\TEMP" ok"#,
                r"path C:\\DATA\\x",
                // A string's escaped backslash before its text.
                r#"b"\\x7f\\x45" and '\\x1b' or = \\x1b"#,
                r#"u"\\u005C": u"\\u005C\\u005C""#,
            ],
        );
    }

    #[test]
    fn a_quoted_secret_ends_at_its_closing_quote() {
        finds_exactly(&[
            (
                "sshpass -p 'Tr0ub4dor&3' ssh jdoe@10.0.0.7",
                &[
                    (Kind::Password, "Tr0ub4dor&3"),
                    (Kind::Username, "jdoe"),
                    (Kind::Ipv4, "10.0.0.7"),
                ],
            ),
            (
                "passphrase: \"correct horse battery staple\"\n",
                &[(Kind::Password, "correct horse battery staple")],
            ),
            (
                "{\"db_password\": \"Summer2024;Pa,ss\", \"host\": \"10.0.0.8\"}",
                &[
                    (Kind::Password, "Summer2024;Pa,ss"),
                    (Kind::Ipv4, "10.0.0.8"),
                ],
            ),
            (
                "{\"body\": \"{\\\"password\\\":\\\"hunter2 horse\\\"}\"}",
                &[(Kind::Password, "hunter2 horse")],
            ),
            // No closing quote on the line, or another quote: the value as it stopped.
            (
                "password: \"abcd efgh\nnext 10.0.0.9",
                &[(Kind::Password, "abcd"), (Kind::Ipv4, "10.0.0.9")],
            ),
            ("password='abcd efgh\"", &[(Kind::Password, "abcd")]),
            // Unquoted, a value ends where it did.
            (
                "password=abcd&user=alice",
                &[(Kind::Password, "abcd"), (Kind::Username, "alice")],
            ),
        ]);
    }

    #[test]
    fn a_session_cookie_or_identifier_by_its_name() {
        finds_each(
            Kind::SessionToken,
            &[
                (
                    "Cookie: _portal_session=Qm9iYnlUYWJsZXM6MTIzNDU2Nzg5MA%3D%3D--a1b2c3d4e5; lang=en",
                    "Qm9iYnlUYWJsZXM6MTIzNDU2Nzg5MA%3D%3D--a1b2c3d4e5",
                ),
                (
                    "Set-Cookie: sid=Vb7Nm3Kl9Jh5Gf1Ds8Aq2We4Rt6Yu0Io; Path=/; Secure",
                    "Vb7Nm3Kl9Jh5Gf1Ds8Aq2We4Rt6Yu0Io",
                ),
                (
                    "{\"name\": \"sid\", \"value\": \"s%3Ak2l9m3n8b4v7c1x6z5a0.Rt4vWz8yBc3hJk5Lm7\"}",
                    "s%3Ak2l9m3n8b4v7c1x6z5a0.Rt4vWz8yBc3hJk5Lm7",
                ),
                (
                    "{\"name\": \"okta-oauth-state\", \"value\": \"Xj3kL9mQ2pR5sT8vW1yZ4aB7cD0eF\"}",
                    "Xj3kL9mQ2pR5sT8vW1yZ4aB7cD0eF",
                ),
                (
                    "{\"session\": \"a8f5f167f44f4964e6c998dee827110c\", \"user\": 3}",
                    "a8f5f167f44f4964e6c998dee827110c",
                ),
                (
                    "INFO login ok session_id=8a3e5f2c-1b4d-4e6f-9a8b-7c6d5e4f3a2b",
                    "8a3e5f2c-1b4d-4e6f-9a8b-7c6d5e4f3a2b",
                ),
                ("Cookie: _gh_sess=Xk29dLmQp8RtVw3Ny7Bz", "Xk29dLmQp8RtVw3Ny7Bz"),
                (
                    "Cookie: MRHSession=5f0e8a7b6c4d3e2f1a0b9c8d7e6f5a4b",
                    "5f0e8a7b6c4d3e2f1a0b9c8d7e6f5a4b",
                ),
                (
                    "__Secure-next-auth.session-token=Zq8Xw2Vc4Bn6Mm1Ll3Kk5Jj7",
                    "Zq8Xw2Vc4Bn6Mm1Ll3Kk5Jj7",
                ),
            ],
        );
        misses_each(
            Kind::SessionToken,
            &[
                "pam_unix(sshd:session): session opened for user alice",
                "systemd-logind: New session 1234 of user alice.",
                "session=3 state=active",
                "\"session\": \"interactive-terminal\"",
                "sessionTimeout=1800000000000000",
                "session_key=/etc/app/keys/session.key",
                "{\"name\": \"lang\", \"value\": \"en-US-x-private-use\"}",
                "Cookie: _ga=GA1.2.1234567890.1700000000",
            ],
        );
        // A Windows security identifier is an account's, whatever names it.
        finds(
            "sid: S-1-5-21-3623811015-3361044348-30300820-1013",
            Kind::AccountNumber,
            "3623811015-3361044348-30300820-1013",
        );
    }

    #[test]
    fn a_service_accounts_key_and_a_pgpass_line() {
        let account = "{\"type\": \"service_account\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n\", \"client_id\": \"1048\"}";
        finds(
            account,
            Kind::PrivateKey,
            "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----",
        );
        misses(account, Kind::Password);
        // The line's host and account too, which stand in the password's context.
        finds_exactly(&[
            (
                "db.acme.com:5432:ledger:ledger_app:Tr0ub4dor-Ledger\n",
                &[
                    (Kind::Hostname, "db.acme.com"),
                    (Kind::Username, "ledger_app"),
                    (Kind::Password, "Tr0ub4dor-Ledger"),
                ],
            ),
            (
                "10.20.0.5:5432:sales:report:PgPassF1le9",
                &[
                    (Kind::Ipv4, "10.20.0.5"),
                    (Kind::Username, "report"),
                    (Kind::Password, "PgPassF1le9"),
                ],
            ),
            (
                "pg-replica-02:*:*:replicator:s3cr3t-repl",
                &[
                    (Kind::Hostname, "pg-replica-02"),
                    (Kind::Username, "replicator"),
                    (Kind::Password, "s3cr3t-repl"),
                ],
            ),
            // `*` and `localhost` name no host, `*` and `postgres` no one's account.
            ("*:*:*:*:s3cr3t-pg", &[(Kind::Password, "s3cr3t-pg")]),
            ("*:*:*:postgres:s3cr3t-pg", &[(Kind::Password, "s3cr3t-pg")]),
            (
                "localhost:5432:*:jdoe:s3cr3t-pg",
                &[(Kind::Username, "jdoe"), (Kind::Password, "s3cr3t-pg")],
            ),
        ]);
        misses_each(
            Kind::Password,
            &["12:30:45:00:9999", "Dec  4 10:01:05 db03 sudo[1240]: x"],
        );
        finds(
            "{\"_HOSTNAME\":\"db03\",\"_COMM\":\"sshd\"}",
            Kind::Hostname,
            "db03",
        );
    }

    #[test]
    fn password_hashes() {
        finds_each(
            Kind::PasswordHash,
            &[
                (
                    "jdoe:$6$rounds=5000$abcdefgh$0123456789abcdefABCDEF/.xyz0123:19000:0:99999:7:::",
                    "$6$rounds=5000$abcdefgh$0123456789abcdefABCDEF/.xyz0123",
                ),
                (
                    "alice:$y$j9T$F5Jx5fExrKuJdK7PO9rdf/$p.Zr4XfDWtm0KnJ3cFq2nMbEuYnA6:19700:0:99999:7:::",
                    "$y$j9T$F5Jx5fExrKuJdK7PO9rdf/$p.Zr4XfDWtm0KnJ3cFq2nMbEuYnA6",
                ),
                (
                    "hash: $2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
                    "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
                ),
                (
                    "bob:$apr1$9eZxYv1k$Qm8Wn3Rt5Yu7Io9Pa1Sd2.",
                    "$apr1$9eZxYv1k$Qm8Wn3Rt5Yu7Io9Pa1Sd2.",
                ),
                (
                    "olcRootPW: {SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
                    "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
                ),
                (
                    "\"app_rw\" \"SCRAM-SHA-256$4096:c2FsdHNhbHQ=$abc123def456/ghi789+jkl=:mno0pqr1stu2vwx3yz4ABC=\"",
                    "SCRAM-SHA-256$4096:c2FsdHNhbHQ=$abc123def456/ghi789+jkl=:mno0pqr1stu2vwx3yz4ABC=",
                ),
                (
                    "\"reporting\" \"md5a3c1b2d9e8f7a6b5c4d3e2f1a0b9c8d7\"",
                    "md5a3c1b2d9e8f7a6b5c4d3e2f1a0b9c8d7",
                ),
                (
                    "pbkdf2_sha256$600000$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=",
                    "pbkdf2_sha256$600000$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=",
                ),
                (
                    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1",
                    "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1",
                ),
                (
                    "Authorization: Digest username=\"jsmith\", realm=\"api\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/\", response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c\"",
                    "6629fae49393a05397450978507c4ef1",
                ),
            ],
        );
        misses_each(
            Kind::PasswordHash,
            &[
                // A Digest header's nonce; a response that is no hash's length.
                "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", cnonce=\"0a4f113b\"",
                "response=\"6629fae49393a05397450978507c4ef\"",
                "echo $1$2$3 and $6$x$y",
                "echo $apr1$ok$short",
                "root:*:19000:0:99999:7:::",
                "jdoe:!!:19000::::::",
                "md5sum d41d8cd98f00b204e9800998ecf8427e",
                "checksum md5:d41d8cd98f00b204e9800998ecf8427e",
                "{SHA}short",
            ],
        );
    }

    #[test]
    fn cloud_and_service_keys() {
        finds(
            "AKIAIOSFODNN7EXAMPLE",
            Kind::AwsAccessKey,
            "AKIAIOSFODNN7EXAMPLE",
        );
        finds(
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            Kind::Password,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        finds(
            "token ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            Kind::GithubToken,
            "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
        );
        finds(
            "glpat-abcdefghij0123456789",
            Kind::GitlabToken,
            "glpat-abcdefghij0123456789",
        );
        finds(
            "xoxb-1234567890-abcdefghij",
            Kind::SlackToken,
            "xoxb-1234567890-abcdefghij",
        );
        // A configuration token's access and refresh halves.
        let config = "Mi0yLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIz";
        for token in [format!("xoxe.xoxp-1-{config}"), format!("xoxe-1-{config}")] {
            finds(&format!("refreshed {token} ok"), Kind::SlackToken, &token);
        }
        misses_each(
            Kind::SlackToken,
            &["xoxe-short", "xoxz-1234567890-abcdefghij"],
        );
        finds(
            "sk_live_abcdefghijklmnop1234",
            Kind::StripeKey,
            "sk_live_abcdefghijklmnop1234",
        );
        finds(
            "key=AIzaSyA-1234567890abcdefghijklmnopqrstu",
            Kind::GcpApiKey,
            "AIzaSyA-1234567890abcdefghijklmnopqrstu",
        );
        let azure = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;";
        finds(azure, Kind::AzureStorageKey, "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==");
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        finds(&format!("cookie={jwt};"), Kind::Jwt, jwt);
        let pem =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----";
        finds(&format!("key:\n{pem}\n"), Kind::PrivateKey, pem);
        misses(
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            Kind::PrivateKey,
        );
    }

    #[test]
    fn card_numbers_after_their_label_pass_luhn_whatever_the_issuer() {
        // Twelve-digit Maestro numbers, issuers outside the known prefixes.
        finds_each(
            Kind::PaymentCard,
            &[
                ("Please block card no 501803075628", "501803075628"),
                (
                    "my credit card number is 3591135996605773?",
                    "3591135996605773",
                ),
                ("billed amount for cc 675956263684 on", "675956263684"),
                ("What's your credit card? 630437314952", "630437314952"),
                ("card #: 5018-0307-5628", "5018-0307-5628"),
                (
                    "Debit Card Number: 3520 9957 6572 8940.",
                    "3520 9957 6572 8940",
                ),
            ],
        );
        // The Luhn sum, the length and the label are still asked for.
        misses_each(
            Kind::PaymentCard,
            &[
                "card no 501803075629",
                "card 000000000000",
                "card 50180307562",
                "order 501803075628",
                "discard 501803075628",
                "card 5018030756280000000012",
            ],
        );
    }

    #[test]
    fn financial_and_government_numbers_pass_their_checksums() {
        finds(
            "card 4111 1111 1111 1111 exp",
            Kind::PaymentCard,
            "4111 1111 1111 1111",
        );
        misses("order 4111 1111 1111 1112", Kind::PaymentCard);
        finds(
            "IBAN GB82 WEST 1234 5698 7654 32.",
            Kind::Iban,
            "GB82 WEST 1234 5698 7654 32",
        );
        misses("ref GB82 WEST 1234 5698 7654 33", Kind::Iban);
        finds("ssn 536-90-4399", Kind::UsSsn, "536-90-4399");
        misses("ssn 666-90-4399", Kind::UsSsn);
        finds("NINO AB123456C", Kind::UkNino, "AB123456C");
        finds("BSN: 111222333", Kind::NlBsn, "111222333");
        misses("order 111222333", Kind::NlBsn);
        misses("BSN: 111222334", Kind::NlBsn);
        finds("SIN 046-454-286", Kind::CaSin, "046-454-286");
        misses("SIN 046-454-287", Kind::CaSin);
        finds(
            "Aadhaar no. 2341 2341 2346",
            Kind::InAadhaar,
            "2341 2341 2346",
        );
        misses("Aadhaar 2341 2341 2347", Kind::InAadhaar);
    }

    #[test]
    fn user_names_in_context() {
        finds(
            "Failed password for user alice from 10.0.0.1",
            Kind::Username,
            "alice",
        );
        finds("ls /home/bob/.ssh", Kind::Username, "bob");
        finds(
            r"C:\Users\carol.smith\AppData",
            Kind::Username,
            "carol.smith",
        );
        finds("uid=dave42 gid=100", Kind::Username, "dave42");
        misses("* script-login: don't include it", Kind::Username);
        finds("login: 'erin' refused", Kind::Username, "erin");
        misses("user is not allowed", Kind::Username);
        misses("user root logged in", Kind::Username);
        finds("Account Name:\t\tjdoe", Kind::Username, "jdoe");
        finds("account=svc_backup;", Kind::Username, "svc_backup");
        misses("Will my account stay active?", Kind::Username);
        // Prose about a user, not a user's name.
        misses(
            "warn when the user specifies a ForwardAgent",
            Kind::Username,
        );
        misses("probably not what a user wanted.", Kind::Username);
        misses("The user lacks permissions", Kind::Username);
        // Prose about users: a compound, a relative clause, the noun's usual companions.
        misses_each(
            Kind::Username,
            &[
                "secure in a multi-user environment.",
                "owned by a separate\nuser which is more secure",
                "constructed directly by user code.",
                "sanitized user input only",
                "run systemctl --user enable foo.service",
                "the old per-user cache filename",
                "    at Object.<anonymous> (/home/index.js:1:15)",
                "gpg: Ignore too large user ids during import.",
                "gpg: Print the UID creation time",
                "Filter the date/user line from the results.",
            ],
        );
        // A dot in an account, and command options, keep their value.
        finds_each(
            Kind::Username,
            &[
                ("ls /home/alice.smith/x", "alice.smith"),
                ("mysql --user alice -p", "alice"),
                ("find / -user alice -print", "alice"),
                ("ansible --remote-user deploy2 all", "deploy2"),
            ],
        );
        finds("session opened for user alice by", Kind::Username, "alice");
        // The daemons' own lines, which do not say "user".
        finds(
            "sshd[812]: Accepted publickey for priyar from 10.0.0.5 port 50022 ssh2",
            Kind::Username,
            "priyar",
        );
        finds(
            "Failed password for invalid user oracle2 from 10.0.0.9",
            Kind::Username,
            "oracle2",
        );
        finds(
            "sudo:   kwatanabe : TTY=pts/0 ; PWD=/srv ; USER=root",
            Kind::Username,
            "kwatanabe",
        );
        finds(
            "CRON[4121]: (svc_backup) CMD (run.sh)",
            Kind::Username,
            "svc_backup",
        );
        finds(
            "web01 sudo[1240]:     jdoe : TTY=pts/0 ; PWD=/home/jdoe ; USER=root",
            Kind::Username,
            "jdoe",
        );
        finds(
            "db03 CROND[5000]: (svc_backup) CMD (/usr/local/bin/pg-backup.sh)",
            Kind::Username,
            "svc_backup",
        );
        let access = "10.40.99.23 - jdoe [04/Dec/2026:10:00:00 +0000] \"GET /x HTTP/1.1\" 200 512";
        finds(access, Kind::Username, "jdoe");
        finds(access, Kind::Ipv4, "10.40.99.23");
        misses(
            "10.40.99.23 - - [04/Dec/2026:10:00:00 +0000] \"GET /x HTTP/1.1\" 200 512",
            Kind::Username,
        );
        // Windows accounts after their domain.
        for (text, user) in [
            ("Logon failure: CORP\\zsmith from 10.1.2.3", "zsmith"),
            ("443 CORP\\zsmith 10.40.99.23 Mozilla/5.0 200", "zsmith"),
            (
                "Access denied for ACME-BANK\\svc_sql01 on share",
                "svc_sql01",
            ),
            ("\"user\": \"CORP\\\\jdoe\"", "jdoe"),
        ] {
            finds(text, Kind::Username, user);
        }
        misses_each(
            Kind::Username,
            &[
                "running as NT AUTHORITY\\SYSTEM now",
                "key HKLM\\SOFTWARE\\Microsoft",
                "C:\\WINDOWS\\system32\\svchost.exe",
                "member of BUILTIN\\Administrators",
                "Logon Type:\t\t3\nLogon Process:\t\tKerberos",
                "Logon failure: unknown user name",
                "git clone C:\\cygwin\\home\\USER\\repo",
                "b\"GET\\n/ HTTP/1.1\"",
                "\"ABCDE\\nFG\"",
                "\"DZ\\u{0323}\"",
                "Avoid CR\\LF troubles",
            ],
        );
        finds("user alice: permission denied", Kind::Username, "alice");
        finds("user bob:\tdenied", Kind::Username, "bob");
        // A key of its own after a bare keyword: a log's next field, a heading.
        misses_each(
            Kind::Username,
            &[
                "INFO action=login ip=203.0.113.45",
                "az login output: {\"tenantId\": \"x\"}",
                "az login output:\n[",
            ],
        );
        finds(
            "INFO user=alice action=login ip=203.0.113.45",
            Kind::Username,
            "alice",
        );
        // Accounts of people and services in /etc/passwd and /etc/shadow, not the
        // system's own.
        finds(
            "root:x:0:0:root:/root:/bin/bash\njdoe:x:1001:1001:John Doe:/home/jdoe:/bin/bash",
            Kind::Username,
            "jdoe",
        );
        finds(
            "svc.backup:$y$j9T$F5Jx5fExrKuJdK7PO9rdf/$p.Zr4XfDWtm0KnJ3c:19700:0:99999:7:::",
            Kind::Username,
            "svc.backup",
        );
        misses_each(
            Kind::Username,
            &[
                "postgres:x:26:26:PostgreSQL Server:/var/lib/pgsql:/bin/bash",
                "nobody:x:65534:65534:Kernel Overflow User:/:/sbin/nologin",
                "sshd:*:19000:0:99999:7:::",
                "time 12:00:1000:20: elapsed",
                "USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND",
            ],
        );
        misses("sudo: unable to resolve host web01", Kind::Username);
        misses(
            "sudo[12]: pam_unix(sudo:auth): conversation failed",
            Kind::Username,
        );
        misses("CROND[5000]: (CRON) INFO (Shutting down)", Kind::Username);
        misses("Accepted publickey for root from 10.0.0.5", Kind::Username);
        misses("Failed password for 3 attempts", Kind::Username);
        // JSON and YAML-like fields: the key's closing quote before the separator.
        finds(r#"{"username": "erin", "id": 7}"#, Kind::Username, "erin");
        finds(r#"{'accountName': 'frank'}"#, Kind::Username, "frank");
        misses(r#"the "user" field is empty"#, Kind::Username);
        // An email after the key is found as the email, whole.
        finds(r#"{"user": "judy@acme.com"}"#, Kind::Email, "judy@acme.com");
        finds("user=judy@acme.com", Kind::Email, "judy@acme.com");
        misses("user=judy@acme.com", Kind::Username);
        // A chat's or a ticket's label before a full name: the person's name, whole.
        for (line, name) in [
            ("Bot: Your name? User: Mikko Keskitalo", "Mikko Keskitalo"),
            ("Customer: Torben S. Kjeldsen\n", "Torben S. Kjeldsen"),
            ("User: Harriëtte Fox", "Harriëtte Fox"),
            ("user: Anna Lyberth wants a refund", "Anna Lyberth"),
            (
                r#"{"text":"Caller: Leena Filppula\nUnit 4"}"#,
                "Leena Filppula",
            ),
            // A ticket export's people.
            ("Assignee: Tomás Ortega\n", "Tomás Ortega"),
            (
                "Opened by: Ruta Jankauskiene, 2026-11-02",
                "Ruta Jankauskiene",
            ),
            ("Requested for: Olga Berg\n", "Olga Berg"),
        ] {
            finds(line, Kind::PersonName, name);
            misses(line, Kind::Username);
        }
        misses("systemd-user: Update Translations\n", Kind::PersonName);
        // Teams and companies are labelled so too.
        misses_each(
            Kind::PersonName,
            &[
                "Owner: Network Operations\n",
                "Customer: Acme Corp\n",
                "Assigned to: Service Desk\n",
                "Agent: The Support Bot\n",
            ],
        );
        // One word, or an account's shape, stays a user name.
        finds("User: Alice", Kind::Username, "Alice");
        finds("User: Alice Domain: ACME", Kind::Username, "Alice");
        finds("User: JDoe logged in", Kind::Username, "JDoe");
        finds("User: alice logged in", Kind::Username, "alice");
        finds("USER=Admin2 PWD=/", Kind::Username, "Admin2");
        // A capitalised word that begins a sentence is none.
        misses("Bot: Your name? User: Hello there", Kind::Username);
        misses("systemd-user: Drop redundant After=", Kind::Username);
        misses(
            "fn setpriority_user(uid: Uid, priority: i32)",
            Kind::Username,
        );
        // Accounts are ASCII: a word that goes on beyond it is a person's name or prose.
        misses("login josé", Kind::Username);
        // Logged in as someone: the name after `as`, not `as` itself.
        finds("login as alice", Kind::Username, "alice");
        finds("login as: carol", Kind::Username, "carol");
        finds("Logged in as dave.k", Kind::Username, "dave.k");
        finds("signed in as erin", Kind::Username, "erin");
        misses("login as", Kind::Username);
        misses("to take a username as argument:", Kind::Username);
        // What logs say of a login is no user's name.
        misses_each(
            Kind::Username,
            &[
                "login ok",
                "login successful",
                "Login attempt from 10.0.0.1",
                "login timeout after 30s",
                "user denied",
                "LOGIN ERROR",
                "user: ok",
                "logged in at 09:12",
            ],
        );
    }

    #[test]
    fn policy_keywords_and_patterns() {
        let custom = [CustomPattern {
            name: "ticket".into(),
            regex: r"TCK-[0-9]{6}".into(),
            category: Category::AccountIdentifiers,
        }];
        let detectors = Detectors::new(&["Project Falcon".into()], &custom).unwrap();
        let text = b"project falcon blocked by TCK-123456";
        let found: Vec<Kind> = detectors.find(text).into_iter().map(|f| f.kind).collect();
        assert_eq!(found, [Kind::Custom(0), Kind::Custom(1)]);
        // A pattern that does not parse, or whose automaton would not fit in memory, is
        // refused with the detector's name.
        for regex in ["(", "(?:[a-z]{500}){500}"] {
            let custom = [CustomPattern {
                name: "bad".into(),
                regex: regex.into(),
                category: Category::Contact,
            }];
            let error = Detectors::new(&[], &custom).err().expect(regex);
            assert_eq!(error.name, "(all)", "{regex}");
        }
    }

    #[test]
    fn values_after_an_escaped_line_break_are_found_without_the_escape() {
        let text = r#"{"msg":"failed\n10.1.2.3 refused\ndb1.corp.acme.com down\njane@acme.com\n+1 555 010 0199"}"#;
        finds(text, Kind::Ipv4, "10.1.2.3");
        finds(text, Kind::Hostname, "db1.corp.acme.com");
        finds(text, Kind::Email, "jane@acme.com");
        finds(text, Kind::Phone, "+1 555 010 0199");
        // National numbers, greetings, signatures, fields and user names start lines too.
        let ticket = r#"{"body":"Hi Priya,\nplease call\n020 7946 0958 or\r\n(555) 010-0199.\nThanks,\nOlga Berg\nName: Ken Watanabe\nuser jdoe locked"}"#;
        finds(ticket, Kind::Phone, "020 7946 0958");
        finds(ticket, Kind::Phone, "(555) 010-0199");
        finds(ticket, Kind::PersonName, "Olga Berg");
        finds(ticket, Kind::PersonName, "Ken Watanabe");
        finds(ticket, Kind::Username, "jdoe");
        finds(
            r#""text":"\nHi Priya, the array""#,
            Kind::PersonName,
            "Priya",
        );
        let dump = r#"{"request":"GET / HTTP/1.1\r\nAuthorization: Bearer abcdef0123456789\nAKIAIOSFODNN7EXAMPLE\n2001:db8::7\n\tpassword=hunter2xyz"}"#;
        finds(dump, Kind::BearerToken, "abcdef0123456789");
        finds(dump, Kind::Password, "hunter2xyz");
        finds(dump, Kind::AwsAccessKey, "AKIAIOSFODNN7EXAMPLE");
        finds(dump, Kind::Ipv6, "2001:db8::7");
        // A value ends at the escaped break: the next line is searched on its own.
        let config = r#"{"log":"loaded\npassword=hunter2xyz\nuser bob\nsecret=s3cr3t-value"}"#;
        finds(config, Kind::Password, "hunter2xyz");
        finds(config, Kind::Username, "bob");
        finds(config, Kind::Password, "s3cr3t-value");
        // However many lines follow.
        let many: String = (0..200)
            .map(|i| format!(r"\npassword=abcdefgh{i}x"))
            .collect();
        let found = kinds(&many);
        assert_eq!(found.len(), 200, "{:?}", &found[..3.min(found.len())]);
        // The letter of an escaped backslash's `n` is text: no line starts there.
        let glued = kinds(r"path \\n020 7946 0958");
        assert!(
            !glued.iter().any(|(_, v)| v.starts_with("020")),
            "{glued:?}"
        );
        misses(r"\\nHi Priya", Kind::PersonName);
        misses(r"\\nAKIAIOSFODNN7EXAMPLE", Kind::AwsAccessKey);
        // A path's backslash is no escape when itself escaped, nor is its user's initial.
        finds(r"C:\Users\nancy\AppData", Kind::Username, "nancy");
        finds(r#""C:\\Users\\nancy""#, Kind::Username, "nancy");
        finds(
            r"\\ndb1.corp.acme.com",
            Kind::Hostname,
            "ndb1.corp.acme.com",
        );
    }

    #[test]
    fn a_refused_value_leaves_the_context_after_it_to_be_searched() {
        // A system account names no one, but its shadow line's hash is a credential.
        let shadow = "root:$6$rounds=5000$saltsalt$K8jZ1Qx9vX0mY2nT3pL4kR5sW6uV7yA8bC9dE0f:19700:0:99999:7:::";
        finds_only(
            shadow,
            Kind::PasswordHash,
            "$6$rounds=5000$saltsalt$K8jZ1Qx9vX0mY2nT3pL4kR5sW6uV7yA8bC9dE0f",
        );
        // A word before an address that names no one leaves the whole address to be found,
        // not only its domain.
        finds_only(
            "Author: Unknown <kunda@scribus.net>",
            Kind::Email,
            "kunda@scribus.net",
        );
    }

    #[test]
    fn passwords_of_sql_statements_and_urls_without_an_account_are_found() {
        finds_exactly(&[
            (
                "CREATE USER 'reporting'@'10.20.%' IDENTIFIED BY 'R3port;Pass!';",
                &[
                    (Kind::Username, "reporting"),
                    (Kind::Password, "R3port;Pass!"),
                ],
            ),
            (
                "ALTER USER app WITH PASSWORD 'S3cret,1';",
                &[(Kind::Username, "app"), (Kind::Password, "S3cret,1")],
            ),
            (
                "CREATE USER x IDENTIFIED WITH caching_sha2_password BY \"Xy7!long\"",
                &[(Kind::Password, "Xy7!long")],
            ),
            (
                "redis://:R3disPass@cache-01:6379/0",
                &[
                    (Kind::UrlPassword, "R3disPass"),
                    (Kind::Hostname, "cache-01"),
                ],
            ),
        ]);
        misses_each(
            Kind::Password,
            &[
                "ALTER USER app PASSWORD 'changeme';",
                "ALTER USER app PASSWORD '${DB_PASSWORD}';",
                "the password 'abc' is too short",
                "log(\"Password \" + pwd + \".\")",
                "the password \"must be longer\" rule",
            ],
        );
        misses("redis://cache-01:6379/0", Kind::UrlPassword);
    }

    #[test]
    fn accounts_of_database_grants_and_access_rules_are_found() {
        finds_each(
            Kind::Username,
            &[
                ("GRANT ALL ON app.* TO 'jdoe'@'localhost';", "jdoe"),
                (
                    "/*!50013 DEFINER=`etl_user`@`%` SQL SECURITY */",
                    "etl_user",
                ),
                ("SHOW GRANTS FOR \"svc_orders\"@\"10.0.0.%\";", "svc_orders"),
                (
                    "host    app    app_user    10.20.0.0/16    scram-sha-256",
                    "app_user",
                ),
                ("hostssl all jdoe 10.20.31.7 255.255.255.255 md5", "jdoe"),
                ("local   sales   mkowalski   peer", "mkowalski"),
            ],
        );
        misses_each(
            Kind::Username,
            &[
                "GRANT ALL ON *.* TO 'root'@'localhost';",
                "let pair = ('key')@('value');",
                "local   all             all                                     peer",
                "host    replication     all             ::1/128                 md5",
                "local time zone is set to UTC",
                "host is down for maintenance",
            ],
        );
        // The rule's address after its account is still found.
        finds(
            "host    app    app_user    10.20.0.0/16    scram-sha-256",
            Kind::Ipv4,
            "10.20.0.0/16",
        );
    }

    #[test]
    fn accounts_and_hosts_of_login_sessions_are_found() {
        finds_exactly(&[
            (
                "mkowalski pts/1       vpn-gw-03        Mon Nov 30 08:55 - 09:40  (00:45)",
                &[(Kind::Username, "mkowalski"), (Kind::Hostname, "vpn-gw-03")],
            ),
            (
                "jdoe     pts/0        10.20.31.7       Mon Nov 30 09:12   still logged in",
                &[(Kind::Username, "jdoe"), (Kind::Ipv4, "10.20.31.7")],
            ),
            (
                "jdoe     pts/0        2026-11-30 09:12 (10.20.31.7)",
                &[(Kind::Username, "jdoe"), (Kind::Ipv4, "10.20.31.7")],
            ),
        ]);
        // The system's own accounts, a reboot's pseudo-user, and a host column's word.
        finds_no_account_password_or_host(&[
            "root     pts/0        10.20.31.7       Mon Nov 30 09:12   still logged in",
            "reboot   system boot  6.1.0-18-amd64   Mon Nov 30 08:50   still running",
            "see the tty1 console for details",
        ]);
        misses(
            "jdoe     tty1         console          Mon Nov 30 09:12",
            Kind::Hostname,
        );
    }

    #[test]
    fn servers_of_connection_strings_are_found_by_their_one_label() {
        finds_each(
            Kind::Hostname,
            &[
                (
                    "Server=sql-prod-02;Database=Orders;User Id=svc;",
                    "sql-prod-02",
                ),
                (
                    r"Data Source=SQLPROD02\INST1;Initial Catalog=x",
                    "SQLPROD02",
                ),
                ("\"Server=tcp:sql-02,1433;Encrypt=True\"", "sql-02"),
                ("Host=pg-main;Port=5432;Database=app", "pg-main"),
                ("host=pg-main port=5432 dbname=app", "pg-main"),
            ],
        );
        misses_each(
            Kind::Hostname,
            &[
                "character-set-server = utf8mb4",
                "Server=localhost;Database=x",
                "Server=nginx;",
                "host = self.host",
                "let server = 'server-1' if x else y",
            ],
        );
    }

    #[test]
    fn random_values_of_names_that_hold_a_secrets_word_are_found() {
        finds_each(
            Kind::Password,
            &[
                (
                    "SECRET_KEY_BASE=9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928",
                    "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928",
                ),
                (
                    "JWT_SECRET_KEY: \"q8Zk2LmN5pR7tV9xB1cD3fG6\"",
                    "q8Zk2LmN5pR7tV9xB1cD3fG6",
                ),
                (
                    "export TOKEN_SIGNING_KEY=aB3dE6gH9jK2mN5pQ8s",
                    "aB3dE6gH9jK2mN5pQ8s",
                ),
            ],
        );
        misses_each(
            Kind::Password,
            &[
                "PASSWORD_MIN_LENGTH=8",
                "TOKEN_EXPIRY_SECONDS=3600",
                "SECRET_FILE=/run/secrets/db_password",
                "SECRET_ROTATION_POLICY=weekly_rotation_enabled",
                "SECRET_KEY_PLACEHOLDER=xxxxxxxxxxxxxxxxxxxx",
            ],
        );
    }

    #[test]
    fn an_email_address_encoded_in_a_url_is_found_whole() {
        finds_only(
            "/reset?email=jdoe%40acme.com&lang=en",
            Kind::Email,
            "jdoe%40acme.com",
        );
        // A percent sign's other codes are no address, nor is a file's name after `%40`.
        misses("/files/report%20final.pdf", Kind::Email);
        misses("/builds/app%40config.yaml", Kind::Email);
    }

    #[test]
    fn display_names_are_found_quoted_and_surname_first() {
        finds_each(
            Kind::PersonName,
            &[
                (
                    "From: \"Kowalski, Maria\" <maria.kowalski@acme.com>",
                    "Kowalski, Maria",
                ),
                ("To: \"Smith, John A.\" <js@acme.com>", "Smith, John A."),
                ("Cc: \"Loïc Le Loarer\" <lll@acme.com>", "Loïc Le Loarer"),
            ],
        );
        misses(
            "From: \"Support, Team\" <support@acme.com>",
            Kind::PersonName,
        );
    }

    #[test]
    fn a_network_is_found_with_its_length_and_a_host_without() {
        finds_exactly(&[
            ("route 10.20.16.0/20 via", &[(Kind::Ipv4, "10.20.16.0/20")]),
            ("inet 10.20.31.7/16 brd", &[(Kind::Ipv4, "10.20.31.7")]),
            ("net 10.20.0.0/33 bad", &[(Kind::Ipv4, "10.20.0.0")]),
            (
                "prefix 2001:db8:7::/48 ok",
                &[(Kind::Ipv6, "2001:db8:7::/48")],
            ),
        ]);
    }

    #[test]
    fn names_of_a_hosts_file_line_are_its_labels_after_an_address() {
        let text =
            b"127.0.0.1 localhost\n127.0.1.1 ws-jdoe-0142\n10.20.30.42  ldap02 ldap-old  # lab\n\
            10.20.30.41 db-prod-01.corp.acme.com db-prod-01\n::1 ip6-localhost\n\
            10.0.0.1 dev eth0 lladdr 52:54:00:12:34:56 REACHABLE\n2026-11-30 web-01 up\n";
        let labels: Vec<&[u8]> = Detectors::hosts_file_labels(text).collect();
        assert_eq!(
            labels,
            [&b"ws-jdoe-0142"[..], b"ldap02", b"ldap-old", b"db-prod-01"]
        );
    }

    #[test]
    fn mail_servers_the_audit_log_and_sudoers_name_their_accounts() {
        finds_each(
            Kind::Username,
            &[
                (
                    "dovecot: imap-login: Login: user=<mgarcia>, method=PLAIN, rip=203.0.113.9",
                    "mgarcia",
                ),
                (
                    "postfix/smtpd[123]: 4F3A21C0D1: client=x[203.0.113.9], sasl_method=LOGIN, sasl_username=mgarcia",
                    "mgarcia",
                ),
                (
                    "msg='op=login acct=\"kwilliams\" exe=\"/usr/sbin/sshd\" res=success'",
                    "kwilliams",
                ),
                ("res=success' UID=\"root\" AUID=\"kwilliams\"", "kwilliams"),
                ("mgarcia ALL=(ALL) NOPASSWD: ALL", "mgarcia"),
                ("jdoe\tALL = (root) /usr/bin/systemctl", "jdoe"),
            ],
        );
        misses_each(
            Kind::Username,
            &[
                // Markup, a group, the system's account, placeholders.
                "Login: <input type=\"text\" name=\"login\">",
                "%wheel ALL=(ALL) ALL",
                "root ALL=(ALL:ALL) ALL",
                "Defaults env_reset",
                "auid=1001 ses=3",
                "user=username",
                "user=<your_username> password=<your_password>",
                "Please enter the username field.",
                "<sip:+14155550123@10.0.0.5;user=phone>",
                "acct=\"(unknown)\"",
                // Code's fields of the same names.
                "pub fn setresuid(ruid: crate::uid_t, euid: crate::uid_t) -> c_int;",
                "const SUID = linux_raw_sys::general::S_ISUID;",
            ],
        );
    }

    #[test]
    fn database_roles_radius_logins_and_vpn_clients_are_accounts() {
        finds_each(
            Kind::Username,
            &[
                (
                    "psql: error: connection to server failed: FATAL:  role \"hpatel\" does not exist",
                    "hpatel",
                ),
                ("ERROR:  permission denied for role \"billing_rw\"", "billing_rw"),
                (
                    "radiusd[999]: Login OK: [mgarcia] (from client wlan-ctrl port 0)",
                    "mgarcia",
                ),
                (
                    "Login incorrect (rlm_pap: Cleartext password does not match): [jdoe/WrongPw1] (from client x)",
                    "jdoe",
                ),
                (
                    "openvpn[1234]: jdoe/203.0.113.50:51234 MULTI: Learn: 10.8.0.6 -> jdoe/203.0.113.50:51234",
                    "jdoe",
                ),
            ],
        );
        // The client's address is found too.
        finds(
            "openvpn[1234]: jdoe/203.0.113.50:51234 MULTI",
            Kind::Ipv4,
            "203.0.113.50",
        );
        misses_each(
            Kind::Username,
            &[
                "role \"\" does not exist",
                "role \"admin\" does not exist",
                "the role of the server",
                "GET http://10.0.0.1:8080/health",
                "Login OK: [root] (from client x)",
            ],
        );
    }

    #[test]
    fn a_sip_or_telephone_address_holds_its_number() {
        finds_each(
            Kind::Phone,
            &[
                ("sip:+14155550123@sip.acme-corp.com", "+14155550123"),
                (
                    "From: <sip:+14155550123@sbc.acme-corp.com>;tag=1234",
                    "+14155550123",
                ),
                ("Contact: <sips:+442079460958@10.0.0.5>", "+442079460958"),
            ],
        );
        misses_each(
            Kind::Phone,
            &["gossip:+14155550123", "id:+14155550123", "sip:+1415@pbx"],
        );
    }

    #[test]
    fn an_azure_subscription_in_a_resource_identifier() {
        let id = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
        finds_each(
            Kind::AccountNumber,
            &[
                (
                    &format!("/subscriptions/{id}/resourceGroups/rg-prod/providers/x"),
                    id,
                ),
                (&format!("az account set --subscription {id}"), id),
                (&format!("--subscription={id}"), id),
            ],
        );
        misses_each(
            Kind::AccountNumber,
            &[
                "/subscriptions/default/resourceGroups",
                "--subscription-id-file ids.txt",
            ],
        );
    }

    #[test]
    fn an_ntlm_logons_source_workstation_is_a_host() {
        finds(
            "Source Workstation:\tWS-JDOE-01\nError Code:\t0xC000006A",
            Kind::Hostname,
            "WS-JDOE-01",
        );
    }

    #[test]
    fn a_settings_dotted_key_is_no_host() {
        // Kafka's and Java's properties, as files, logged at start-up, or as JSON.
        for text in [
            "session.timeout.ms=30000",
            "\trequest.timeout.ms = 30000",
            "log.app=debug",
            "spring.cloud=on",
            "{\"session.timeout.ms\": \"45000\"}",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
        // A host before `=`, `==` or a bare `:` is still one.
        finds_each(
            Kind::Hostname,
            &[
                ("db01.acme.com=10.0.0.5", "db01.acme.com"),
                ("ldap.corp.internal = primary", "ldap.corp.internal"),
                ("kafka1.acme.io=broker", "kafka1.acme.io"),
                ("failed to reach api.acme.dev: timeout", "api.acme.dev"),
                ("api.acme.app == host", "api.acme.app"),
                ("bootstrap.servers=kafka.acme.app:9092", "kafka.acme.app"),
            ],
        );
    }

    #[test]
    fn a_match_read_back_from_its_trigger_is_the_patterns_own() {
        finds_exactly(&[
            // An address alone: the trigger's bytes are searched for the address.
            (
                "Send it to <jdoe@acme.com>.",
                &[(Kind::Email, "jdoe@acme.com")],
            ),
            (
                "From: Ann MacLeod <a@b.io>",
                &[(Kind::PersonName, "Ann MacLeod"), (Kind::Email, "a@b.io")],
            ),
            // A finding overlapping the name read back: the name starts after it.
            (
                "2020-04-06  Maciej W. Rozycki  <macro@wdc.com>",
                &[
                    (Kind::PersonName, "Maciej W. Rozycki"),
                    (Kind::Email, "macro@wdc.com"),
                ],
            ),
            (
                "[jdoe@ws-0142 ~]$ sudo -i",
                &[(Kind::Username, "jdoe"), (Kind::Hostname, "ws-0142")],
            ),
            (
                "GRANT ALL ON app.* TO 'jdoe'@'localhost';",
                &[(Kind::Username, "jdoe")],
            ),
            (
                "<settings><password>hunter2hunter</password></settings>",
                &[(Kind::Password, "hunter2hunter")],
            ),
        ]);
        // Not read back across a line, nor further than a name may reach.
        finds("Kowalski <k@acme.com>", Kind::PersonName, "Kowalski");
        finds(
            "REDIS_URL=redis://:S3cretPw@cache-01:6379",
            Kind::UrlPassword,
            "S3cretPw",
        );
        finds(
            "at https://builder:S3cretPw@git.acme.com/x.git",
            Kind::UrlPassword,
            "S3cretPw",
        );
        misses("Kowalski\n<k@acme.com>", Kind::PersonName);
        let far = format!("Kowalski{}<k@acme.com>", " ".repeat(300));
        misses(&far, Kind::PersonName);
        // Triggers one after another, each read back once: linear in the text.
        let many = "A <a@".repeat(40_000);
        assert!(kinds(&many).is_empty());
        let many = "Anna Smith <a@b.io> ".repeat(20_000);
        assert_eq!(kinds(&many).len(), 40_000);
    }

    #[test]
    fn invalid_utf8_is_scanned_byte_wise() {
        let mut text = b"\xff\xfe user alice from 10.0.0.1 \xc3".to_vec();
        text.extend_from_slice(b" mail bob@acme.com");
        let detectors = Detectors::new(&[], &[]).unwrap();
        let kinds: Vec<Kind> = detectors.find(&text).into_iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [Kind::Username, Kind::Ipv4, Kind::Email]);
    }
}
