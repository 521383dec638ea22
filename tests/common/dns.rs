//! A tiny UDP DNS responder on 127.0.0.1 (hickory-proto parses the queries and encodes the
//! answers): `ok.test.` has an A record 127.0.0.1, `missing.test.` is NXDOMAIN, `broken.test.`
//! answers SERVFAIL; any other name is REFUSED.

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

pub struct DnsResponder {
    pub addr: SocketAddr,
    /// Queries answered.
    pub queries: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl DnsResponder {
    pub async fn start() -> DnsResponder {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind dns");
        let addr = socket.local_addr().expect("dns addr");
        let queries = Arc::new(AtomicUsize::new(0));
        let count = queries.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let Ok(query) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                if let Ok(bytes) = answer(&query).to_bytes() {
                    let _ = socket.send_to(&bytes, peer).await;
                }
            }
        });
        DnsResponder {
            addr,
            queries,
            task,
        }
    }

    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }
}

impl Drop for DnsResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(query: &Message) -> Message {
    let mut response = Message::new();
    response
        .set_id(query.id())
        .set_message_type(MessageType::Response)
        .set_op_code(query.op_code())
        .set_recursion_desired(query.recursion_desired())
        .set_recursion_available(true)
        .add_queries(query.queries().to_vec());
    let Some(question) = query.queries().first() else {
        response.set_response_code(ResponseCode::FormErr);
        return response;
    };
    let name = question.name().to_ascii().to_lowercase();
    match name.as_str() {
        "ok.test." => {
            response.set_response_code(ResponseCode::NoError);
            if question.query_type() == RecordType::A {
                response.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::A(A(Ipv4Addr::LOCALHOST)),
                ));
            }
        }
        "missing.test." => {
            response.set_response_code(ResponseCode::NXDomain);
        }
        "broken.test." => {
            response.set_response_code(ResponseCode::ServFail);
        }
        _ => {
            response.set_response_code(ResponseCode::Refused);
        }
    }
    response
}
