//! The shape of a compose service as Docker's loader types it (`cli/compose/types`): for each
//! field, the Go type that decides how it is read, printed (omitempty) and merged. One table
//! drives both normalisation and overlay merging, so the two cannot disagree.

/// How one field is read, printed and merged.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// `string`, omitted when empty; an overlay's non-empty value wins.
    Str,
    /// A `string` that also accepts numbers (printed with Go's `fmt.Sprint`).
    NumStr,
    /// `bool`, omitted when false; false never overrides.
    Bool,
    /// `*bool`: printed when set, even false.
    BoolPtr,
    /// Non-pointer unsigned or signed integer, omitted when 0.
    Int,
    /// `*uint64`: printed when set; an overlay's value always wins (Docker's `mergeUint64`).
    U64Ptr,
    /// `*uint32` (file modes): printed when set; an overlay's 0 does not override.
    U32Ptr,
    /// `float32`, omitted when 0.
    Float,
    /// `Duration` (non-pointer), printed as Go's `Duration.String()`, omitted when 0.
    Duration,
    /// `*Duration`: printed when set.
    DurationPtr,
    /// `UnitBytes`: `512M` → `"536870912"`.
    Bytes,
    /// `[]string` given as a list; lists append on merge.
    List,
    /// `StringList`: a string or a list of strings.
    StringList,
    /// `StringOrNumberList`: items printed as strings.
    NumList,
    /// `ShellCommand`: a string split like a shell, or a list; an overlay replaces it.
    Command,
    /// `HealthCheckTest`: a string becomes `[CMD-SHELL, s]`.
    HealthTest,
    /// `MappingWithEquals` (environment): list `K=V`/`K` or mapping; bare keys are null.
    Environment,
    /// `Labels`/`Mapping`: list `K=V` or mapping; bare keys are "".
    Labels,
    /// `map[string]string`: a mapping only.
    StrMap,
    /// `HostsList`: a list, or a mapping printed as sorted `host:ip`.
    Hosts,
    /// A non-pointer struct: omitted when all its fields are.
    Struct(&'static [Field]),
    /// A pointer to a struct: printed when given, even `{}`.
    Ptr(&'static [Field]),
    /// A list of structs; lists append on merge.
    ListOf(&'static [Field]),
    /// `*LoggingConfig`, with Docker's driver-aware merge.
    Logging,
    /// `[]ServicePortConfig`: short or long syntax; merged by published port, sorted.
    Ports,
    /// `[]ServiceSecretConfig`/`[]ServiceConfigObjConfig`: merged by source, sorted.
    FileRefs,
    /// `[]ServiceVolumeConfig`: short or long syntax; merged by target, sorted.
    Volumes,
    /// `map[string]*ServiceNetworkConfig`: a list of names or a mapping.
    Networks,
    /// `map[string]*UlimitsConfig`: a number or `{soft, hard}`.
    Ulimits,
    /// `BuildConfig`: a context string or a mapping.
    Build,
}

/// A named field of a struct.
pub type Field = (&'static str, Ty);

pub const SERVICE: &[Field] = &[
    ("build", Ty::Build),
    ("cap_add", Ty::List),
    ("cap_drop", Ty::List),
    ("cgroupns_mode", Ty::Str),
    ("cgroup_parent", Ty::Str),
    ("command", Ty::Command),
    ("configs", Ty::FileRefs),
    ("container_name", Ty::Str),
    ("credential_spec", Ty::Struct(CREDENTIAL_SPEC)),
    ("depends_on", Ty::List),
    ("deploy", Ty::Struct(DEPLOY)),
    ("devices", Ty::List),
    ("dns", Ty::StringList),
    ("dns_search", Ty::StringList),
    ("domainname", Ty::Str),
    ("entrypoint", Ty::Command),
    ("environment", Ty::Environment),
    ("env_file", Ty::StringList),
    ("expose", Ty::NumList),
    ("external_links", Ty::List),
    ("extra_hosts", Ty::Hosts),
    ("hostname", Ty::Str),
    ("healthcheck", Ty::Ptr(HEALTHCHECK)),
    ("image", Ty::Str),
    ("init", Ty::BoolPtr),
    ("ipc", Ty::Str),
    ("isolation", Ty::Str),
    ("labels", Ty::Labels),
    ("links", Ty::List),
    ("logging", Ty::Logging),
    ("mac_address", Ty::Str),
    ("network_mode", Ty::Str),
    ("networks", Ty::Networks),
    ("pid", Ty::Str),
    ("ports", Ty::Ports),
    ("privileged", Ty::Bool),
    ("read_only", Ty::Bool),
    ("restart", Ty::Str),
    ("secrets", Ty::FileRefs),
    ("security_opt", Ty::List),
    ("shm_size", Ty::NumStr),
    ("stdin_open", Ty::Bool),
    ("stop_grace_period", Ty::DurationPtr),
    ("stop_signal", Ty::Str),
    ("sysctls", Ty::Labels),
    ("tmpfs", Ty::StringList),
    ("tty", Ty::Bool),
    ("ulimits", Ty::Ulimits),
    ("user", Ty::Str),
    ("userns_mode", Ty::Str),
    ("volumes", Ty::Volumes),
    ("working_dir", Ty::Str),
];

pub const BUILD: &[Field] = &[
    ("context", Ty::Str),
    ("dockerfile", Ty::Str),
    ("args", Ty::Environment),
    ("labels", Ty::Labels),
    ("cache_from", Ty::StringList),
    ("extra_hosts", Ty::Hosts),
    ("network", Ty::Str),
    ("target", Ty::Str),
];

const CREDENTIAL_SPEC: &[Field] = &[("config", Ty::Str), ("file", Ty::Str), ("registry", Ty::Str)];

pub const HEALTHCHECK: &[Field] = &[
    ("test", Ty::HealthTest),
    ("timeout", Ty::DurationPtr),
    ("interval", Ty::DurationPtr),
    ("retries", Ty::U64Ptr),
    ("start_period", Ty::DurationPtr),
    ("disable", Ty::Bool),
];

pub const LOGGING: &[Field] = &[("driver", Ty::Str), ("options", Ty::StrMap)];

const DEPLOY: &[Field] = &[
    ("mode", Ty::Str),
    ("replicas", Ty::U64Ptr),
    ("labels", Ty::Labels),
    ("update_config", Ty::Ptr(UPDATE_CONFIG)),
    ("rollback_config", Ty::Ptr(UPDATE_CONFIG)),
    ("resources", Ty::Struct(RESOURCES)),
    ("restart_policy", Ty::Ptr(RESTART_POLICY)),
    ("placement", Ty::Struct(PLACEMENT)),
    ("endpoint_mode", Ty::Str),
];

const UPDATE_CONFIG: &[Field] = &[
    ("parallelism", Ty::U64Ptr),
    ("delay", Ty::Duration),
    ("failure_action", Ty::Str),
    ("monitor", Ty::Duration),
    ("max_failure_ratio", Ty::Float),
    ("order", Ty::Str),
];

const RESOURCES: &[Field] = &[("limits", Ty::Ptr(LIMITS)), ("reservations", Ty::Ptr(RESERVATIONS))];

const LIMITS: &[Field] = &[("cpus", Ty::NumStr), ("memory", Ty::Bytes), ("pids", Ty::Int)];

const RESERVATIONS: &[Field] =
    &[("cpus", Ty::NumStr), ("memory", Ty::Bytes), ("generic_resources", Ty::ListOf(GENERIC_RESOURCE))];

const GENERIC_RESOURCE: &[Field] = &[("discrete_resource_spec", Ty::Ptr(DISCRETE_RESOURCE))];

const DISCRETE_RESOURCE: &[Field] = &[("kind", Ty::Str), ("value", Ty::Int)];

const RESTART_POLICY: &[Field] =
    &[("condition", Ty::Str), ("delay", Ty::DurationPtr), ("max_attempts", Ty::U64Ptr), ("window", Ty::DurationPtr)];

const PLACEMENT: &[Field] = &[
    ("constraints", Ty::List),
    ("preferences", Ty::ListOf(&[("spread", Ty::Str)])),
    ("max_replicas_per_node", Ty::Int),
];

pub const PORT: &[Field] = &[("mode", Ty::Str), ("target", Ty::Int), ("published", Ty::Int), ("protocol", Ty::Str)];

pub const FILE_REF: &[Field] =
    &[("source", Ty::Str), ("target", Ty::Str), ("uid", Ty::Str), ("gid", Ty::Str), ("mode", Ty::U32Ptr)];

pub const VOLUME: &[Field] = &[
    ("type", Ty::Str),
    ("source", Ty::Str),
    ("target", Ty::Str),
    ("read_only", Ty::Bool),
    ("consistency", Ty::Str),
    ("bind", Ty::Ptr(&[("propagation", Ty::Str)])),
    ("volume", Ty::Ptr(&[("nocopy", Ty::Bool)])),
    ("tmpfs", Ty::Ptr(&[("size", Ty::Int)])),
];

pub const SERVICE_NETWORK: &[Field] = &[("aliases", Ty::List), ("ipv4_address", Ty::Str), ("ipv6_address", Ty::Str)];

/// Top-level `networks.<name>` (besides `external`, handled by the loader).
pub const NETWORK: &[Field] = &[
    ("name", Ty::Str),
    ("driver", Ty::Str),
    ("driver_opts", Ty::StrMap),
    ("ipam", Ty::Struct(&[("driver", Ty::Str), ("config", Ty::ListOf(&[("subnet", Ty::Str)]))])),
    ("internal", Ty::Bool),
    ("attachable", Ty::Bool),
    ("labels", Ty::Labels),
];

/// Top-level `volumes.<name>` (besides `external`).
pub const VOLUME_DEF: &[Field] =
    &[("name", Ty::Str), ("driver", Ty::Str), ("driver_opts", Ty::StrMap), ("labels", Ty::Labels)];

/// Top-level `secrets.<name>` and `configs.<name>` (besides `external`).
pub const FILE_OBJECT: &[Field] = &[
    ("name", Ty::Str),
    ("file", Ty::Str),
    ("labels", Ty::Labels),
    ("driver", Ty::Str),
    ("driver_opts", Ty::StrMap),
    ("template_driver", Ty::Str),
];
