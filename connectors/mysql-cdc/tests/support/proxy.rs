//! A TCP proxy in front of the test server that can make the connections it carries go silent
//! without closing them: the way a peer looks when its host vanished, a NAT or firewall entry
//! was dropped, or a VM froze. Nothing reaches either side and no FIN or RST arrives; only a
//! client that times out silence notices. Connections made after [`FreezingProxy::freeze`] are
//! carried normally, so a client that reconnects gets through.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct FreezingProxy {
    pub port: u16,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    /// Connections are numbered from 0 as accepted; those numbered below this are frozen.
    frozen_below: AtomicU64,
    accepted: AtomicU64,
    closed: AtomicBool,
    /// Every socket, to close them all when the proxy is dropped.
    sockets: Mutex<Vec<TcpStream>>,
}

impl FreezingProxy {
    /// Listens on a free loopback port and forwards each connection to `127.0.0.1:target`.
    pub fn start(target: u16) -> FreezingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State::default());
        let accepting = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.closed.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let id = accepting.accepted.fetch_add(1, Ordering::SeqCst);
                let mut sockets = accepting.sockets.lock().unwrap();
                sockets.push(client.try_clone().unwrap());
                sockets.push(server.try_clone().unwrap());
                drop(sockets);
                forward(
                    id,
                    &accepting,
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                );
                forward(id, &accepting, server, client);
            }
        });
        FreezingProxy { port, state }
    }

    /// Every connection open now goes silent in both directions, and stays open.
    pub fn freeze(&self) {
        self.state
            .frozen_below
            .store(self.state.accepted.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.state.accepted.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to` until either closes; once connection `id` is frozen, what arrives is
/// read and dropped (the sender's writes succeed, as they do towards a dead peer until its
/// buffers fill).
fn forward(id: u64, state: &Arc<State>, mut from: TcpStream, mut to: TcpStream) {
    let state = Arc::clone(state);
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if id < state.frozen_below.load(Ordering::SeqCst) {
                continue;
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        if id >= state.frozen_below.load(Ordering::SeqCst) {
            let _ = to.shutdown(Shutdown::Write);
        }
    });
}

impl Drop for FreezingProxy {
    fn drop(&mut self) {
        self.state.closed.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so it sees `closed`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for socket in self.state.sockets.lock().unwrap().drain(..) {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}
