//! A Lambda Runtime API of the benchmark's own, for one process at a time: it hands the process
//! one event on its first request for work and notes when that request and the answer arrive.
//! Later requests for work are never answered (the process is stopped after its first answer),
//! as Lambda freezes an instance between invocations.
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};

/// What one process did with its one event, in time since it was spawned.
#[derive(Debug, Clone)]
pub struct Served {
    /// When it first asked for work: its initialisation is over.
    pub asked: Duration,
    /// When its answer (or its error report) arrived.
    pub answered: Duration,
    /// The answer: API Gateway's response JSON, or the error report.
    pub body: Vec<u8>,
    /// Whether it reported an error (invocation or initialisation) instead of answering.
    pub failed: bool,
}

const REQUEST_ID: &str = "bench-0000-0000-0000-000000000001";

struct Run {
    started: Instant,
    event: Vec<u8>,
    asked: Option<Duration>,
    handed_out: bool,
}

/// Listens on loopback; `address()` is what `AWS_LAMBDA_RUNTIME_API` is set to.
pub struct RuntimeApi {
    listener: TcpListener,
}

impl RuntimeApi {
    pub async fn bind() -> std::io::Result<RuntimeApi> {
        Ok(RuntimeApi {
            listener: TcpListener::bind("127.0.0.1:0").await?,
        })
    }

    pub fn address(&self) -> std::io::Result<String> {
        Ok(self.listener.local_addr()?.to_string())
    }

    /// Serves one process spawned at `started` until it answers `event`, or `limit` passes.
    pub async fn serve(
        &self,
        started: Instant,
        event: Vec<u8>,
        limit: Duration,
    ) -> Result<Served, String> {
        let run = Arc::new(Mutex::new(Run {
            started,
            event,
            asked: None,
            handed_out: false,
        }));
        let (done, mut outcome) = mpsc::channel::<Served>(1);
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        let mut connections = Vec::new();
        let result = loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, _) = accepted.map_err(|error| error.to_string())?;
                    connections.push(tokio::spawn(connection(stream, run.clone(), done.clone())));
                }
                served = outcome.recv() => break served.ok_or_else(|| "no answer".to_string()),
                _ = &mut deadline => break Err(format!("no answer within {limit:?}")),
            }
        };
        for task in connections {
            task.abort();
        }
        result
    }
}

async fn connection(stream: TcpStream, run: Arc<Mutex<Run>>, done: mpsc::Sender<Served>) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    while let Ok(Some((method, path, body))) = read_request(&mut reader).await {
        let now = run.lock().await.started.elapsed();
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let event = {
                let mut run = run.lock().await;
                run.asked.get_or_insert(now);
                if run.handed_out {
                    None
                } else {
                    run.handed_out = true;
                    Some(run.event.clone())
                }
            };
            let Some(event) = event else {
                // Frozen: no second invocation.
                std::future::pending::<()>().await;
                return;
            };
            let deadline_ms = std::time::SystemTime::UNIX_EPOCH
                .elapsed()
                .map(|since| since.as_millis() + 30_000)
                .unwrap_or(0);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 lambda-runtime-aws-request-id: {REQUEST_ID}\r\n\
                 lambda-runtime-deadline-ms: {deadline_ms}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\r\n",
                event.len()
            );
            if writer.write_all(head.as_bytes()).await.is_err()
                || writer.write_all(&event).await.is_err()
            {
                return;
            }
        } else if method == "POST" {
            let failed = !path.ends_with("/response");
            let asked = run.lock().await.asked.unwrap_or(now);
            let _ = writer
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}")
                .await;
            let _ = done
                .send(Served {
                    asked,
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
