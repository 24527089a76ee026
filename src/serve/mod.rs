//! `cypdash serve`: the dashboard's engine behind the PostgreSQL wire
//! protocol, for BI tools (Power BI, Excel, Tableau, psql, Python, ODBC).
//!
//! Built on `datafusion-postgres` (pgwire and the `pg_catalog` tables that
//! clients read at connect). What the server adds (docs/serve.md):
//!
//! - one catalogue `cypdash`: schema `public` holds the input tables, the
//!   reference tables and the shared blocks as `cypdash sql` sees them
//!   (bound blocks at their defaults; left out with `--charts-only`), schema
//!   `charts` one view per chart with its default parameters
//!   (`charts.who__gender`, the export's file name), and the table function
//!   `chart('who/gender', 'min_n', '10', ...)` for other values
//!   ([`charts`]). Chart results come from [`Dashboard::run`], so the
//!   server's disclosure policy (`--sdc`) applies as in `cypdash run`;
//! - read-only: only queries, `SHOW`, `EXPLAIN`, `SET` of session settings,
//!   transaction and cursor statements and `DISCARD` run ([`session`]);
//! - limits: each connection executes in its own memory pool (`--memory-limit`
//!   per query), at most `--max-queries` queries execute at once, each stops
//!   at `--query-timeout`, on a cancel request, or when its client hangs up;
//! - localhost unless `--host` says otherwise, and then only with a password
//!   (SCRAM-SHA-256); TLS with `--tls-cert`/`--tls-key`.

mod charts;
mod compat;
mod session;

use crate::dashboard::Dashboard;
use anyhow::{bail, Context, Result};
use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider};
use datafusion::catalog::{MemoryCatalogProviderList, SchemaProvider};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use datafusion_postgres::pgwire::tokio::tokio_rustls::rustls;
use datafusion_postgres::pgwire::tokio::TlsAcceptor;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The catalogue name clients see as the database (`current_database()`).
pub const DATABASE: &str = "cypdash";

/// The per-query memory limit when `--memory-limit` is not given.
pub const DEFAULT_QUERY_MEMORY: usize = 1024 * 1024 * 1024;

/// `cypdash serve`'s own arguments (the data, queries, disclosure policy
/// and memory limit are the global ones).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on. The default takes connections from this
    /// machine only; any other address needs --user and --password-file.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    pub host: String,
    /// The port (0: any free port; the one taken is printed at start).
    #[arg(long, default_value_t = 5432)]
    pub port: u16,
    /// The user name clients log in with (SCRAM-SHA-256, with --password-file).
    #[arg(long, value_name = "NAME", requires = "password_file")]
    pub user: Option<String>,
    /// A file holding the password (its first line).
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,
    /// TLS certificate chain (PEM); clients may then connect with sslmode=require.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Stop a query after this many seconds (a client may ask for less
    /// with SET statement_timeout).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub query_timeout: u64,
    /// Queries executing at once; others wait for a slot (within their
    /// timeout). Each has --memory-limit (default 1GiB) to itself.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_queries: usize,
    /// Connections open at once; others are turned away.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_connections: usize,
    /// Serve only the charts (disclosure-controlled), not the input tables
    /// and shared blocks (row-level data).
    #[arg(long)]
    pub charts_only: bool,
}

impl ServeArgs {
    /// The server's options, with `query_memory` for each query (the
    /// global `--memory-limit`, or [`DEFAULT_QUERY_MEMORY`]).
    pub fn options(&self, query_memory: usize) -> ServeOptions {
        ServeOptions {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            password_file: self.password_file.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            query_memory,
            query_timeout: Duration::from_secs(self.query_timeout),
            max_queries: self.max_queries,
            max_connections: self.max_connections,
            charts_only: self.charts_only,
        }
    }
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    /// The one user name clients log in with (with `password_file`).
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Memory for one query's execution; beyond it, sorts and joins spill.
    pub query_memory: usize,
    pub query_timeout: Duration,
    /// Queries executing at once (others wait for a slot, within their timeout).
    pub max_queries: usize,
    /// Connections open at once (others are turned away).
    pub max_connections: usize,
    /// Serve only the charts (disclosure-controlled), not the tables.
    pub charts_only: bool,
}

/// A line-oriented log shared by the connection tasks (stderr from the CLI).
#[derive(Clone)]
pub struct Log(Arc<Mutex<Box<dyn Write + Send>>>);

impl Log {
    pub fn new(w: Box<dyn Write + Send>) -> Self {
        Self(Arc::new(Mutex::new(w)))
    }

    pub(crate) fn line(&self, text: &str) {
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A log that cannot be written must not stop the server.
        let _ = writeln!(w, "{text}");
        let _ = w.flush();
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Log")
    }
}

/// Check the options, build the served session, listen, and serve until
/// Ctrl-C. `out` gets one line once the server listens (its address, what
/// it serves); `log` gets connection events (refused logins, stopped
/// queries, charts that fail at start).
pub async fn serve(
    dash: Dashboard,
    options: ServeOptions,
    out: &mut dyn Write,
    log: Log,
) -> Result<()> {
    let auth = credentials(&options)?;
    let tls = tls_acceptor(&options)?;
    let host: IpAddr = options
        .host
        .parse()
        .with_context(|| format!("--host {}: give an IP address", options.host))?;
    if !host.is_loopback() && auth.is_none() {
        bail!(
            "--host {host} would let anyone who can reach this machine read the data: \
             give --user and --password-file too (and --tls-cert/--tls-key)"
        );
    }
    if options.max_queries == 0 || options.max_connections == 0 {
        bail!("--max-queries and --max-connections must be at least 1");
    }
    if options.query_timeout.is_zero() {
        bail!("--query-timeout must be at least 1 second");
    }
    let dash = Arc::new(dash);
    dash.prepare().await?;
    let served = served_context(&dash, options.charts_only).await?;
    let (charts, failed) = charts::Charts::load(Arc::clone(&dash)).await;
    for (chart, error) in &failed {
        log.line(&format!(
            "chart {chart} is not served: it failed with its defaults: {error}"
        ));
    }
    let charts = Arc::new(charts);
    charts.register(&served)?;

    let listener = tokio::net::TcpListener::bind(SocketAddr::new(host, options.port))
        .await
        .with_context(|| format!("cannot listen on {host}:{}", options.port))?;
    let addr = listener.local_addr()?;
    let tables = if options.charts_only {
        "charts only".to_string()
    } else {
        format!("{} tables", served_tables(&served))
    };
    writeln!(
        out,
        "cypdash serve: listening on {addr} (database {DATABASE}; {} charts, {tables}; \
         disclosure control {}; {}; {})",
        charts.len(),
        dash.policy().name(),
        if auth.is_some() {
            "password"
        } else {
            "no password"
        },
        if tls.is_some() { "TLS" } else { "no TLS" },
    )?;
    out.flush()?;

    let server = session::Server::new(served, auth, &options, log.clone());
    let connections = Arc::new(tokio::sync::Semaphore::new(options.max_connections));
    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    log.line(&format!("cannot accept a connection: {e}"));
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&connections).try_acquire_owned() else {
            log.line(&format!(
                "connection from {peer} turned away: {} connections are open (--max-connections)",
                options.max_connections
            ));
            continue;
        };
        let server = Arc::clone(&server);
        let tls = tls.clone();
        tokio::spawn(async move {
            if let Err(e) = server.connection(socket, tls).await {
                server.log(&format!("connection from {peer} ended: {e}"));
            }
            drop(slot);
        });
    }
}

/// The number of tables in the served `public` schema.
fn served_tables(ctx: &SessionContext) -> usize {
    ctx.catalog(DATABASE)
        .and_then(|c| c.schema("public"))
        .map_or(0, |s| s.table_names().len())
}

/// The session every connection starts from: the dashboard's functions,
/// settings and optimizer rules, over a catalogue of its own holding the
/// tables and shared blocks as they are now (bound blocks at their
/// defaults: a chart run later rebinds them in the dashboard's session,
/// never here), plus `pg_catalog`.
async fn served_context(dash: &Dashboard, charts_only: bool) -> Result<SessionContext> {
    let base = dash.engine().ctx();
    // Joins and unnests yield as in `cypdash sql`, so that a stopped query
    // stops.
    let state = SessionStateBuilder::new_from_existing(crate::exec::yielding(base.state()))
        .with_catalog_list(Arc::new(MemoryCatalogProviderList::new()))
        .build();
    let ctx = SessionContext::new_with_state(state);
    let public = Arc::new(MemorySchemaProvider::new());
    if !charts_only {
        let from = base
            .catalog(DATABASE)
            .and_then(|c| c.schema("public"))
            .context("the engine has no cypdash.public schema")?;
        for name in from.table_names() {
            if let Some(table) = from.table(&name).await? {
                public.register_table(name, table)?;
            }
        }
    }
    let catalog = Arc::new(MemoryCatalogProvider::new());
    catalog.register_schema("public", public)?;
    ctx.register_catalog(DATABASE, catalog);
    setup_pg_catalog(&ctx, DATABASE, EmptyContextProvider)
        .map_err(|e| anyhow::anyhow!("cannot set up pg_catalog: {e}"))?;
    Ok(ctx)
}

/// The user and password clients must give, if any.
fn credentials(options: &ServeOptions) -> Result<Option<session::Credentials>> {
    match (&options.user, &options.password_file) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => {
            bail!("--user and --password-file go together")
        }
        (Some(user), Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the password file {}", file.display()))?;
            let password = text.trim_end_matches(['\n', '\r']);
            if password.is_empty() {
                bail!("the password file {} is empty", file.display());
            }
            if user.trim().is_empty() {
                bail!("--user is empty");
            }
            Ok(Some(session::Credentials::new(user, password)))
        }
    }
}

/// The TLS acceptor for `--tls-cert`/`--tls-key` (PEM files), if given.
fn tls_acceptor(options: &ServeOptions) -> Result<Option<TlsAcceptor>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (cert, key) = match (&options.tls_cert, &options.tls_key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("cannot read the certificate {}: {e}", cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("cannot read the private key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS set-up")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not make a usable pair")?;
    // PostgreSQL 17 clients may open TLS directly (sslnegotiation=direct),
    // naming the protocol by ALPN.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}
