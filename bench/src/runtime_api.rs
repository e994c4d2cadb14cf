//! A Lambda Runtime API of the benchmark's own, one per process: the process asks for work
//! (`GET .../invocation/next`), and the benchmark hands it events one at a time with
//! [`RuntimeApi::invoke`], noting when each request for work and each answer arrived. Between two
//! invocations the process waits on its request for work, as Lambda freezes an instance between
//! invocations, and the benchmark can read its counters undisturbed.
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;

/// What the process did with one event, in time since it was spawned.
#[derive(Debug, Clone)]
pub struct Served {
    /// When it asked for the work it was then given (for the first event: its initialisation
    /// is over).
    pub asked: Duration,
    /// When the benchmark handed the event over (for a warm process: the start of its latency).
    pub handed: Duration,
    /// When its answer (or its error report) arrived.
    pub answered: Duration,
    /// The answer: API Gateway's response JSON, or the error report.
    pub body: Vec<u8>,
    /// Whether it reported an error (invocation or initialisation) instead of answering.
    pub failed: bool,
}

struct Answer {
    answered: Duration,
    body: Vec<u8>,
    failed: bool,
}

struct Shared {
    started: Instant,
    /// Events waiting for the process's next request for work.
    events: Mutex<mpsc::Receiver<Vec<u8>>>,
    /// When the request for work that got the event being served arrived.
    asked: Mutex<Option<Duration>>,
    answers: mpsc::Sender<Answer>,
    /// Invocations handed out, for distinct request ids.
    handed: Mutex<u64>,
}

pub struct RuntimeApi {
    address: String,
    events: mpsc::Sender<Vec<u8>>,
    answers: mpsc::Receiver<Answer>,
    shared: Arc<Shared>,
    acceptor: JoinHandle<()>,
}

impl RuntimeApi {
    /// Listens on a free loopback port for a process to be spawned at `started`.
    pub async fn start(started: Instant) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (events, events_rx) = mpsc::channel(1);
        let (answers_tx, answers) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            started,
            events: Mutex::new(events_rx),
            asked: Mutex::new(None),
            answers: answers_tx,
            handed: Mutex::new(0),
        });
        let accepting = shared.clone();
        let acceptor = tokio::spawn(async move {
            let mut connections = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.push(AbortOnDrop(tokio::spawn(connection(
                    stream,
                    accepting.clone(),
                ))));
            }
        });
        Ok(RuntimeApi {
            address,
            events,
            answers,
            shared,
            acceptor,
        })
    }

    /// What `AWS_LAMBDA_RUNTIME_API` is set to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Hands the process `event` and waits for its answer, at most `limit`.
    pub async fn invoke(&mut self, event: Vec<u8>, limit: Duration) -> Result<Served, String> {
        let handed = self.shared.started.elapsed();
        self.events
            .send(event)
            .await
            .map_err(|_| "the Runtime API stopped".to_string())?;
        let answer = tokio::time::timeout(limit, self.answers.recv())
            .await
            .map_err(|_| format!("no answer within {limit:?}"))?
            .ok_or_else(|| "the Runtime API stopped".to_string())?;
        let asked = self.shared.asked.lock().await.unwrap_or(answer.answered);
        Ok(Served {
            asked,
            handed,
            answered: answer.answered,
            body: answer.body,
            failed: answer.failed,
        })
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    // As Lambda's own endpoint: no Nagle delay on small answers.
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    while let Ok(Some((method, path, body))) = read_request(&mut reader).await {
        let now = shared.started.elapsed();
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let Some(event) = shared.events.lock().await.recv().await else {
                return;
            };
            // Noted once the event is handed: the process's next request for work (sent as soon
            // as it has answered) must not overwrite the time of this one.
            *shared.asked.lock().await = Some(now);
            let id = {
                let mut handed = shared.handed.lock().await;
                *handed += 1;
                *handed
            };
            let deadline_ms = std::time::SystemTime::UNIX_EPOCH
                .elapsed()
                .map(|since| since.as_millis() + 30_000)
                .unwrap_or(0);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: bench-{id:012}\r\n\
                 lambda-runtime-deadline-ms: {deadline_ms}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\r\n",
                event.len()
            );
            let mut answer = head.into_bytes();
            answer.extend_from_slice(&event);
            if writer.write_all(&answer).await.is_err() {
                return;
            }
        } else if method == "POST" {
            let failed = !path.ends_with("/response");
            let _ = writer
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}")
                .await;
            let _ = shared
                .answers
                .send(Answer {
                    answered: now,
                    body,
                    failed,
                })
                .await;
        } else {
            let _ = writer
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    }
}

/// One HTTP/1.1 request: method, path and body (Content-Length or chunked).
async fn read_request(
    reader: &mut (impl AsyncBufReadExt + Unpin),
) -> std::io::Result<Option<(String, String, Vec<u8>)>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).await?;
    }
    Ok(Some((method, path, body)))
}
