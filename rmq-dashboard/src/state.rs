//! What every handler shares: the admin client, users, sessions, the login limiter, the
//! sampler, short caches of the big lists, and the settings.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rmq_client::{Admin, ClientConfig, Producer};
use rmq_remoting::body::stats::SubscriptionGroupConfig;
use tokio::sync::OnceCell;

use crate::auth::limiter::LoginLimiter;
use crate::auth::sessions::Sessions;
use crate::auth::users::{Origin, Users, UsersError};
use crate::cache::Cached;
use crate::config::DashboardConfig;
use crate::sampler::Sampler;

/// How long the topic and group lists are reused.
const LIST_TTL: Duration = Duration::from_secs(5);
/// The producer group test messages are sent with.
pub const TEST_PRODUCER_GROUP: &str = "rmq-dashboard-producer";

/// Handler state (cheap to clone: shared pointers).
#[derive(Clone)]
pub struct AppState {
    /// The admin client.
    pub admin: Arc<Admin>,
    /// Who may log in.
    pub users: Arc<Users>,
    /// Live sessions.
    pub sessions: Arc<Sessions>,
    /// Failed logins per address.
    pub limiter: Arc<LoginLimiter>,
    /// The cluster's last reading and TPS history.
    pub sampler: Arc<Sampler>,
    /// All topic names, from one name-server call.
    pub topics: Arc<Cached<BTreeSet<String>>>,
    /// Subscription groups of every master: group → (broker name → settings).
    pub groups: Arc<Cached<Groups>>,
    /// The settings the console runs with.
    pub settings: Arc<DashboardConfig>,
    producer: Arc<OnceCell<Producer>>,
}

/// Subscription groups by name, each with the brokers that have it.
pub type Groups = BTreeMap<String, BTreeMap<String, SubscriptionGroupConfig>>;

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The users could not be loaded or created.
    #[error(transparent)]
    Users(#[from] UsersError),
    /// The admin client could not start.
    #[error("admin client: {0}")]
    Admin(#[from] rmq_client::ClientError),
}

impl AppState {
    /// Loads (or creates) the users and starts the admin client and the sampler. The
    /// [`Origin`] tells the caller whether a password was generated (to print it once).
    pub async fn start(settings: DashboardConfig) -> Result<(AppState, Origin), StartError> {
        let (users, origin) =
            Users::load_or_init(&settings.data_dir(), settings.password.as_deref())?;
        let client = ClientConfig {
            namesrv_addr: settings.namesrv_addr.clone(),
            ..ClientConfig::default()
        };
        let admin = Arc::new(Admin::start(client).await?);
        let sampler = Arc::new(Sampler::new(settings.sample_history));
        sampler.spawn(
            admin.clone(),
            Duration::from_secs(settings.sample_interval_secs),
        );
        let state = AppState {
            admin,
            users: Arc::new(users),
            sessions: Arc::new(Sessions::new(Duration::from_secs(
                settings.session_idle_minutes.saturating_mul(60),
            ))),
            limiter: Arc::new(LoginLimiter::new(settings.login_failures_per_minute)),
            sampler,
            topics: Arc::new(Cached::new(LIST_TTL)),
            groups: Arc::new(Cached::new(LIST_TTL)),
            settings: Arc::new(settings),
            producer: Arc::new(OnceCell::new()),
        };
        Ok((state, origin))
    }

    /// The producer test messages go out with, started on first use.
    pub async fn producer(&self) -> rmq_client::Result<&Producer> {
        self.producer
            .get_or_try_init(|| {
                Producer::builder()
                    .namesrv_addr(self.settings.namesrv_addr.clone())
                    .producer_group(TEST_PRODUCER_GROUP)
                    .start()
            })
            .await
    }
}
