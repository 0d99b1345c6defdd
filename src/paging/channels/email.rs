//! Email over SMTP (lettre): one message per delivery, plain text, with the
//! delivery id as its Message-ID so a relay or reader can spot a resend.

use super::super::config::EmailReceiver;
use super::super::message::Outgoing;
use super::Refusal;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

pub(super) async fn send(receiver: &EmailReceiver, out: &Outgoing, timeout: Duration) -> Result<(), Refusal> {
    let (host, port) = receiver.smtp.rsplit_once(':').ok_or_else(|| Refusal::permanent("smtp is not host:port"))?;
    let port: u16 = port.parse().map_err(|_| Refusal::permanent("smtp port is not a number"))?;
    let from: Mailbox = receiver.from.parse().map_err(|e| Refusal::permanent(format!("from address: {e}")))?;
    let address = receiver.address_of(&out.target);
    let to: Mailbox =
        address.parse().map_err(|e| Refusal::permanent(format!("address of {} ({address:?}): {e}", out.target)))?;
    let domain = receiver.from.rsplit_once('@').map(|(_, d)| d).unwrap_or("mandate.invalid");
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(out.subject())
        .message_id(Some(format!("<{}@{domain}>", out.id)))
        .header(ContentType::TEXT_PLAIN)
        .body(out.text())
        .map_err(|e| Refusal::permanent(format!("cannot build the message: {e}")))?;
    // Plain SMTP to a relay the operator names; the relay does TLS onward.
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port).timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&receiver.username, &receiver.password) {
        let password = password.read().map_err(|e| Refusal::permanent(format!("smtp password: {e}")))?;
        transport = transport.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    let sent = tokio::time::timeout(timeout, transport.build().send(message)).await;
    match sent {
        Err(_) => Err(Refusal::transient("no answer from the SMTP relay within the delivery timeout")),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.is_permanent() => Err(Refusal::permanent(format!("SMTP: {e}"))),
        Ok(Err(e)) => Err(Refusal::transient(format!("SMTP: {e}"))),
    }
}
