//! An axum router served on a free loopback port for the length of a test.

use std::net::SocketAddr;

/// A router being served; dropping it stops the server.
pub struct Served {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` on `127.0.0.1:<free port>` from a task of the current runtime.
pub async fn serve(app: axum::Router) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address of the listener");
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("the test's HTTP server stopped");
    });
    Served { addr, task }
}
