//! Engine errors, worded as Docker words them.

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    #[error("Conflict. The container name \"/{name}\" is already in use by container \"{id}\". You have to remove (or rename) that container to be able to reuse that name.")]
    NameInUse { name: String, id: String },
    #[error("Invalid container name ({0}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")]
    InvalidName(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("Unable to find image '{0}' locally")]
    NoSuchImage(String),
    #[error("{msg}")]
    Start { msg: String, code: i32 },
    #[error("{0}")]
    Runtime(String),
    #[error("state database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl EngineError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io {
            context: context.into(),
            source,
        }
    }
    /// The exit status `berth` gives for this error (Docker's 125/126/127).
    pub fn exit_code(&self) -> i32 {
        match self {
            EngineError::Start { code, .. } => *code,
            _ => 125,
        }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
