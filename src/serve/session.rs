//! One client connection: its login, its own session (and memory pool), and
//! the guards around every query: read-only statements only, a slot among
//! `--max-queries`, and a stop on timeout, cancel request or hang-up that
//! covers planning, execution and the streaming of rows.
//!
//! `datafusion-postgres` parses, plans and encodes; its `DfSessionService`
//! runs inside [`Session`], which adds the guards. pgwire's own cancel hook
//! covers only the call that starts a query, not the rows streamed after
//! it, so cancel requests are matched here, by process id and secret key,
//! to the connection's [`Stop`].

use super::{Log, ServeOptions};
use async_trait::async_trait;
use datafusion::common::{DFSchema, ParamValues};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{Set, SetExpr, Statement};
use datafusion_postgres::arrow_pg::datatypes::df::encode_dataframe;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::pgwire::api::auth::noop::NoopStartupHandler;
use datafusion_postgres::pgwire::api::auth::sasl::scram::{
    gen_salted_password, random_nonce, ScramAuth,
};
use datafusion_postgres::pgwire::api::auth::sasl::SASLAuthStartupHandler;
use datafusion_postgres::pgwire::api::auth::{
    AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
};
use datafusion_postgres::pgwire::api::cancel::CancelHandler;
use datafusion_postgres::pgwire::api::portal::{Format, Portal};
use datafusion_postgres::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use datafusion_postgres::pgwire::api::results::{Response, Tag};
use datafusion_postgres::pgwire::api::store::PortalStore;
use datafusion_postgres::pgwire::api::{
    ClientInfo, ClientPortalStore, PgWireServerHandlers, PidSecretKeyGenerator,
    RandomPidSecretKeyGenerator,
};
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::cancel::CancelRequest;
use datafusion_postgres::pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use datafusion_postgres::pgwire::tokio::{process_socket, TlsAcceptor};
use datafusion_postgres::pgwire::types::format::FormatOptions;
use datafusion_postgres::{DfSessionService, QueryHook};
use futures::{Sink, Stream};
use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// SCRAM-SHA-256 iterations (PostgreSQL's default).
const SCRAM_ITERATIONS: usize = 4096;

/// The one login the server accepts, kept as SCRAM's salted password.
#[derive(Debug)]
pub struct Credentials {
    user: String,
    salt: Vec<u8>,
    salted: Vec<u8>,
    /// Offered for any other user name, so that a wrong name fails the same
    /// way, at the end of the exchange, as a wrong password.
    decoy: Vec<u8>,
}

impl Credentials {
    pub fn new(user: &str, password: &str) -> Self {
        let salt = random_nonce().into_bytes();
        Self {
            user: user.to_string(),
            salted: gen_salted_password(password, &salt, SCRAM_ITERATIONS),
            decoy: gen_salted_password(&random_nonce(), &salt, SCRAM_ITERATIONS),
            salt,
        }
    }
}

#[async_trait]
impl AuthSource for Credentials {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let salted = if login.user() == Some(self.user.as_str()) {
            &self.salted
        } else {
            &self.decoy
        };
        Ok(Password::new(Some(self.salt.clone()), salted.clone()))
    }
}

/// A connection's process id and secret key, as a cancel request names it.
type CancelKey = (i32, Vec<u8>);

/// What every connection shares.
pub struct Server {
    /// The session each connection's own is built from.
    served: SessionContext,
    auth: Option<Arc<Credentials>>,
    pids: Arc<RandomPidSecretKeyGenerator>,
    /// Running connections by process id and secret key (cancel requests).
    cancels: Mutex<HashMap<CancelKey, Arc<watch::Sender<u64>>>>,
    slots: Arc<Semaphore>,
    query_memory: usize,
    query_timeout: Duration,
    log: Log,
}

impl Server {
    pub fn new(
        served: SessionContext,
        auth: Option<Credentials>,
        options: &ServeOptions,
        log: Log,
    ) -> Arc<Self> {
        Arc::new(Self {
            served,
            auth: auth.map(Arc::new),
            pids: Arc::new(RandomPidSecretKeyGenerator::default()),
            cancels: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(options.max_queries)),
            query_memory: options.query_memory,
            query_timeout: options.query_timeout,
            log,
        })
    }

    pub fn log(&self, text: &str) {
        self.log.line(text);
    }

    /// Serve one client until it leaves.
    pub async fn connection(
        self: &Arc<Self>,
        socket: TcpStream,
        tls: Option<TlsAcceptor>,
    ) -> std::io::Result<()> {
        // A second handle on the socket, to see the client hang up while
        // one of its queries runs (pgwire reads the socket only between
        // messages).
        let socket = socket.into_std()?;
        let watch = TcpStream::from_std(socket.try_clone()?)?;
        let socket = TcpStream::from_std(socket)?;
        let handlers = Connection::new(self, watch).map_err(std::io::Error::other)?;
        process_socket(socket, tls, handlers).await
    }

    fn forget(&self, key: &CancelKey) {
        self.cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// The handlers of one connection.
struct Connection {
    session: Arc<Session>,
    startup: Arc<Startup>,
    cancel: Arc<Canceller>,
}

impl Connection {
    fn new(server: &Arc<Server>, watch: TcpStream) -> datafusion::error::Result<Self> {
        // Its own memory pool: a query's sorts and joins spill beyond
        // --memory-limit whatever other connections use.
        let runtime = RuntimeEnvBuilder::from_runtime_env(server.served.runtime_env().as_ref())
            .with_memory_pool(crate::engine::memory_pool(server.query_memory))
            .build_arc()?;
        let state = SessionStateBuilder::new_from_existing(server.served.state())
            .with_runtime_env(runtime)
            .build();
        let ctx = Arc::new(SessionContext::new_with_state(state));
        let hooks: Vec<Arc<dyn QueryHook>> = vec![
            Arc::new(ReadOnly),
            Arc::new(CursorStatementHook),
            Arc::new(SetShowHook),
            Arc::new(TransactionStatementHook),
        ];
        let startup = match &server.auth {
            None => Startup::Trust(Trust(Arc::clone(&server.pids))),
            Some(auth) => {
                let mut scram = ScramAuth::new(Arc::clone(auth) as Arc<dyn AuthSource>);
                scram.set_iterations(SCRAM_ITERATIONS);
                Startup::Scram(
                    SASLAuthStartupHandler::new(
                        Arc::new(DefaultServerParameterProvider::default()),
                    )
                    .with_scram(scram)
                    .with_pid_secret_key_generator(
                        Arc::clone(&server.pids) as Arc<dyn PidSecretKeyGenerator>
                    ),
                )
            }
        };
        Ok(Self {
            session: Arc::new(Session {
                inner: DfSessionService::new_with_hooks(ctx, hooks),
                server: Arc::clone(server),
                cancel: Arc::new(watch::channel(0).0),
                key: Mutex::new(None),
                watch: Arc::new(watch),
            }),
            startup: Arc::new(startup),
            cancel: Arc::new(Canceller(Arc::clone(server))),
        })
    }
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::clone(&self.session)
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::clone(&self.session)
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::clone(&self.startup)
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::clone(&self.cancel)
    }
}

/// Login without a password (the default, on localhost).
struct Trust(Arc<RandomPidSecretKeyGenerator>);

impl NoopStartupHandler for Trust {
    fn pid_secret_key_generator(&self) -> &dyn PidSecretKeyGenerator {
        self.0.as_ref()
    }
}

enum Startup {
    Trust(Trust),
    Scram(SASLAuthStartupHandler<DefaultServerParameterProvider>),
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match self {
            Startup::Trust(h) => h.on_startup(client, message).await,
            Startup::Scram(h) => h.on_startup(client, message).await,
        }
    }
}

/// Cancel requests arrive on a connection of their own: find the
/// connection they name and stop its query.
struct Canceller(Arc<Server>);

#[async_trait]
impl CancelHandler for Canceller {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let key = (request.pid, request.secret_key.to_bytes().to_vec());
        let target = self
            .0
            .cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if let Some(cancel) = target {
            cancel.send_modify(|generation| *generation += 1);
        }
    }
}

/// One connection's query handling: `datafusion-postgres` inside the guards.
struct Session {
    inner: DfSessionService,
    server: Arc<Server>,
    /// Bumped by a cancel request for this connection.
    cancel: Arc<watch::Sender<u64>>,
    /// This connection's process id and secret key, once registered.
    key: Mutex<Option<CancelKey>>,
    watch: Arc<TcpStream>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(key) = self.key.lock().unwrap_or_else(|e| e.into_inner()).take() {
            self.server.forget(&key);
        }
    }
}

impl Session {
    /// The stop for a query starting now (registering the connection for
    /// cancel requests on its first query).
    fn stop<C: ClientInfo + ?Sized>(&self, client: &C, what: &str) -> Stop {
        let (pid, secret) = client.pid_and_secret_key();
        {
            let mut key = self.key.lock().unwrap_or_else(|e| e.into_inner());
            if key.is_none() {
                let k = (pid, secret.to_bytes().to_vec());
                self.server
                    .cancels
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(k.clone(), Arc::clone(&self.cancel));
                *key = Some(k);
            }
        }
        // SET statement_timeout (kept by datafusion-postgres in the
        // client's metadata) can shorten the server's timeout, not lengthen it.
        let client_timeout = client
            .metadata()
            .get("statement_timeout_ms")
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(Duration::from_millis);
        let timeout = client_timeout.map_or(self.server.query_timeout, |t| {
            t.min(self.server.query_timeout)
        });
        Stop {
            started: Instant::now(),
            timeout,
            cancel: self.cancel.subscribe(),
            watch: Arc::clone(&self.watch),
            log: self.server.log.clone(),
            what: format!("connection {pid}: {}", abbreviate(what)),
        }
    }

    /// Run `work` (which starts the query) within a slot and the stop, and
    /// keep both for the rows it streams.
    async fn guarded<T>(
        &self,
        stop: Stop,
        work: impl Future<Output = PgWireResult<T>>,
        rows: impl FnOnce(T, &Stop, &Arc<OwnedSemaphorePermit>) -> T,
    ) -> PgWireResult<T> {
        let slot = race(Arc::clone(&self.server.slots).acquire_owned(), &stop)
            .await?
            .map_err(|_| error("57P01", "the server is shutting down".to_string()))?;
        let slot = Arc::new(slot);
        let result = race(work, &stop).await??;
        Ok(rows(result, &stop, &slot))
    }
}

#[async_trait]
impl SimpleQueryHandler for Session {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stop = self.stop(client, query);
        let work = <DfSessionService as SimpleQueryHandler>::do_query(&self.inner, client, query);
        self.guarded(stop, work, |responses, stop, slot| {
            responses
                .into_iter()
                .map(|r| guard_rows(r, stop, slot))
                .collect()
        })
        .await
    }
}

#[async_trait]
impl ExtendedQueryHandler for Session {
    type Statement = <DfSessionService as ExtendedQueryHandler>::Statement;
    type QueryParser = <DfSessionService as ExtendedQueryHandler>::QueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.inner.query_parser()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stop = self.stop(client, &portal.statement.statement.0);
        let work = <DfSessionService as ExtendedQueryHandler>::do_query(
            &self.inner,
            client,
            portal,
            max_rows,
        );
        self.guarded(stop, work, guard_rows).await
    }
}

/// When a query must stop: its deadline, a cancel request, or its client
/// hanging up.
#[derive(Clone)]
struct Stop {
    started: Instant,
    timeout: Duration,
    cancel: watch::Receiver<u64>,
    watch: Arc<TcpStream>,
    log: Log,
    /// The connection and the query, for the log.
    what: String,
}

impl Stop {
    /// Resolves with the error to send once the query must stop (and logs it).
    async fn wait(mut self) -> PgWireError {
        let cancelled = async {
            if self.cancel.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let (code, message) = tokio::select! {
            _ = tokio::time::sleep_until(self.started + self.timeout) => ("57014", format!(
                "canceling statement due to statement timeout ({} s: the server's \
                 --query-timeout or SET statement_timeout)",
                self.timeout.as_secs_f64()
            )),
            _ = cancelled => ("57014", "canceling statement due to user request".to_string()),
            _ = hung_up(&self.watch) => ("08006", "the client closed the connection".to_string()),
        };
        self.log.line(&format!(
            "{}: stopped after {:.1} s: {message}",
            self.what,
            self.started.elapsed().as_secs_f64()
        ));
        error(code, message)
    }
}

/// Resolves when the client has closed its end of the socket, or is
/// leaving: the next message waiting is Terminate (`X`, which libpq,
/// psycopg and Npgsql send as they close). Other data from the client (a
/// pipelined message, TLS records) hides a later close: then this never
/// resolves, and the query runs to its end or its timeout.
async fn hung_up(socket: &TcpStream) {
    let mut next = [0u8; 5];
    match socket.peek(&mut next).await {
        Ok(0) | Err(_) => {}
        Ok(_) if next[0] == b'X' => {}
        Ok(_) => std::future::pending().await,
    }
}

/// `work`, unless the query must stop first.
async fn race<T>(work: impl Future<Output = T>, stop: &Stop) -> PgWireResult<T> {
    tokio::select! {
        biased;
        done = work => Ok(done),
        e = stop.clone().wait() => Err(e),
    }
}

/// Make a query response's rows stop with the query, and hold its slot
/// until they are sent or dropped.
fn guard_rows(response: Response, stop: &Stop, slot: &Arc<OwnedSemaphorePermit>) -> Response {
    match response {
        Response::Query(mut query) => {
            let rows = std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
            query.data_rows = Box::pin(Guarded {
                rows,
                stop: Box::pin(stop.clone().wait()),
                done: false,
                _slot: Arc::clone(slot),
            });
            Response::Query(query)
        }
        other => other,
    }
}

type Rows = Pin<
    Box<
        dyn Stream<Item = PgWireResult<datafusion_postgres::pgwire::messages::data::DataRow>>
            + Send,
    >,
>;

struct Guarded {
    rows: Rows,
    stop: Pin<Box<dyn Future<Output = PgWireError> + Send>>,
    done: bool,
    _slot: Arc<OwnedSemaphorePermit>,
}

impl Stream for Guarded {
    type Item = PgWireResult<datafusion_postgres::pgwire::messages::data::DataRow>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(e) = self.stop.as_mut().poll(cx) {
            self.done = true;
            return Poll::Ready(Some(Err(e)));
        }
        let next = self.rows.as_mut().poll_next(cx);
        if let Poll::Ready(None) = next {
            self.done = true;
        }
        next
    }
}

fn error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        code.to_string(),
        message,
    )))
}

/// A query's first line, shortened, for the log.
fn abbreviate(query: &str) -> String {
    let line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(120) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line,
    }
}

/// What the read-only rule makes of a statement.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Pass it on (datafusion-postgres's hooks, then DataFusion).
    Run,
    /// Answer with this command tag; nothing to do in a read-only session.
    Answer(&'static str),
    /// Refuse it with this message.
    Refuse(String),
}

/// The session settings `DISCARD ALL` resets: those `SET` keeps in the
/// client's metadata (datafusion-postgres's `SetShowHook`).
const SESSION_SETTINGS: [&str; 7] = [
    "statement_timeout_ms",
    "timezone",
    "datestyle",
    "intervalstyle",
    "bytea_output",
    "extra_float_digits",
    "search_path",
];

/// Only statements that read run; see [`Verdict`].
fn verdict(statement: &Statement) -> Verdict {
    use Statement as S;
    match statement {
        S::Query(query) => match query.body.as_ref() {
            SetExpr::Select(select) if select.into.is_some() => {
                refuse("SELECT ... INTO (it creates a table)")
            }
            _ => Verdict::Run,
        },
        S::Explain { statement, .. } => match verdict(statement) {
            Verdict::Run => Verdict::Run,
            _ => refuse(&format!("EXPLAIN {}", kind(statement))),
        },
        S::ExplainTable { .. }
        | S::ShowVariable { .. }
        | S::ShowVariables { .. }
        | S::ShowStatus { .. }
        | S::ShowCatalogs { .. }
        | S::ShowDatabases { .. }
        | S::ShowSchemas { .. }
        | S::ShowTables { .. }
        | S::ShowViews { .. }
        | S::ShowColumns { .. }
        | S::ShowFunctions { .. }
        | S::ShowCreate { .. }
        | S::StartTransaction { .. }
        | S::Commit { .. }
        | S::Declare { .. }
        | S::Fetch { .. }
        | S::Close { .. } => Verdict::Run,
        S::Rollback {
            savepoint: None, ..
        } => Verdict::Run,
        // Savepoints in a session that changes nothing: nothing to keep or undo.
        S::Rollback { .. } => Verdict::Answer("ROLLBACK"),
        S::Savepoint { .. } => Verdict::Answer("SAVEPOINT"),
        S::ReleaseSavepoint { .. } => Verdict::Answer("RELEASE"),
        S::Discard { .. } => Verdict::Answer("DISCARD ALL"),
        // psycopg sends DEALLOCATE ALL after a rollback.
        S::Deallocate { name, .. } if name.value.eq_ignore_ascii_case("all") => {
            Verdict::Answer("DEALLOCATE ALL")
        }
        S::Deallocate { .. } => Verdict::Answer("DEALLOCATE"),
        S::Set(set) => {
            let names: Vec<String> = match set {
                Set::SingleAssignment { variable, .. } => vec![variable.to_string()],
                Set::ParenthesizedAssignments { variables, .. } => {
                    variables.iter().map(|v| v.to_string()).collect()
                }
                Set::MultipleAssignments { assignments } => {
                    assignments.iter().map(|a| a.name.to_string()).collect()
                }
                _ => Vec::new(),
            };
            match names.iter().find(|n| n.contains('.')) {
                Some(name) => Verdict::Refuse(format!(
                    "SET {name}: engine settings are not a client's to change; SET takes \
                     session settings only (statement_timeout, TimeZone, DateStyle, \
                     search_path, application_name, extra_float_digits, ...)"
                )),
                None => Verdict::Run,
            }
        }
        S::Copy { .. } => refuse("COPY (run a SELECT; the client saves its result)"),
        other => refuse(&kind(other)),
    }
}

fn refuse(what: &str) -> Verdict {
    Verdict::Refuse(format!(
        "cypdash serve is read-only: {what} is refused. Run SELECT (the charts are views in \
         schema charts, and chart('section/name', 'param', 'value', ...)), SHOW, EXPLAIN or SET \
         of a session setting"
    ))
}

/// A statement's leading keywords (`CREATE TABLE`, `INSERT INTO`, `DROP`).
fn kind(statement: &Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text
        .split_whitespace()
        .take_while(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .take(2)
        .collect();
    if words.is_empty() {
        "this statement".to_string()
    } else {
        words.join(" ")
    }
}

/// The read-only rule, `DISCARD`, `DEALLOCATE` and savepoints, and the
/// rewriting of drivers' catalogue queries ([`super::compat`]), ahead of
/// datafusion-postgres's own hooks.
struct ReadOnly;

impl ReadOnly {
    async fn respond(
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        match verdict(statement) {
            Verdict::Run => {
                let rewritten = rewritten(statement)?;
                Some(Self::run(&rewritten, ctx, client).await)
            }
            Verdict::Refuse(message) => Some(Err(error("25006", message))),
            Verdict::Answer(tag) => {
                match statement {
                    Statement::Discard { .. } => {
                        let metadata = client.metadata_mut();
                        for key in SESSION_SETTINGS {
                            metadata.remove(key);
                        }
                        client.portal_store().clear_portals();
                    }
                    Statement::Deallocate { name, .. } if tag == "DEALLOCATE" => {
                        client.portal_store().rm_statement(&name.value);
                    }
                    _ => {}
                }
                Some(Ok(Response::Execution(Tag::new(tag))))
            }
        }
    }

    /// A rewritten query, by the simple protocol (text results).
    async fn run(
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> PgWireResult<Response> {
        let df = ctx
            .sql(&statement.to_string())
            .await
            .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
        let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
        let response = encode_dataframe(df, &Format::UnifiedText, Some(options)).await?;
        Ok(Response::Query(response))
    }
}

/// The statement as [`super::compat`] rewrites it, if it does.
fn rewritten(statement: &Statement) -> Option<Statement> {
    if !matches!(statement, Statement::Query(_)) {
        return None;
    }
    let mut rewritten = statement.clone();
    super::compat::rewrite(&mut rewritten).then_some(rewritten)
}

#[async_trait]
impl QueryHook for ReadOnly {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        Self::respond(statement, ctx, client).await
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match verdict(statement) {
            Verdict::Run => {
                let rewritten = rewritten(statement)?;
                let plan = ctx
                    .state()
                    .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                        rewritten,
                    )))
                    .await
                    .map_err(|e| PgWireError::ApiError(Box::new(e)));
                Some(plan)
            }
            Verdict::Refuse(message) => Some(Err(error("25006", message))),
            Verdict::Answer(_) => Some(Ok(LogicalPlan::EmptyRelation(EmptyRelation {
                produce_one_row: false,
                schema: Arc::new(DFSchema::empty()),
            }))),
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        // A rewritten query was planned at Parse: run that plan as it is.
        match verdict(statement) {
            Verdict::Run => None,
            _ => Self::respond(statement, ctx, client).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;

    fn of(sql: &str) -> Verdict {
        let statement = Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0);
        verdict(&statement)
    }

    #[test]
    fn reads_run_and_writes_are_refused() {
        for sql in [
            "SELECT 1",
            "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
            "EXPLAIN SELECT 1",
            "SHOW TimeZone",
            "SET statement_timeout = 1000",
            "SET TIME ZONE 'UTC'",
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "DECLARE c CURSOR FOR SELECT 1",
        ] {
            assert_eq!(of(sql), Verdict::Run, "{sql}");
        }
        for (sql, named) in [
            ("CREATE TABLE t (a INT)", "CREATE TABLE"),
            ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
            ("DROP TABLE referral", "DROP TABLE"),
            ("INSERT INTO referral VALUES (1)", "INSERT INTO"),
            ("DELETE FROM referral", "DELETE FROM"),
            ("UPDATE referral SET a = 1", "UPDATE"),
            ("COPY referral TO '/tmp/x.csv'", "COPY"),
            ("COPY (SELECT 1) TO STDOUT", "COPY"),
            ("SELECT 1 AS a INTO t2", "SELECT ... INTO"),
            (
                "EXPLAIN INSERT INTO referral VALUES (1)",
                "EXPLAIN INSERT INTO",
            ),
            (
                "SET datafusion.runtime.memory_limit = '100G'",
                "datafusion.runtime.memory_limit",
            ),
        ] {
            match of(sql) {
                Verdict::Refuse(message) => assert!(message.contains(named), "{sql}: {message}"),
                other => panic!("{sql} should be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn discard_and_savepoints_are_answered() {
        assert_eq!(of("DISCARD ALL"), Verdict::Answer("DISCARD ALL"));
        assert_eq!(of("SAVEPOINT s"), Verdict::Answer("SAVEPOINT"));
        assert_eq!(of("RELEASE SAVEPOINT s"), Verdict::Answer("RELEASE"));
        assert_eq!(of("ROLLBACK TO SAVEPOINT s"), Verdict::Answer("ROLLBACK"));
        assert_eq!(of("DEALLOCATE ALL"), Verdict::Answer("DEALLOCATE ALL"));
        assert_eq!(of("DEALLOCATE _pg3_0"), Verdict::Answer("DEALLOCATE"));
    }
}
