//! Seeded generator of the quick-start data set: JSON order events as described in
//! `docs/order-events.md`.
//!
//! [`generate`] writes one JSON object per line, `{"key": "<order id>", "value": ...}`.
//! The `value` is either an event object, which a producer serialises as the record value,
//! or a string whose text is the record value itself. Strings appear only for malformed
//! records: their text is a truncated event and so is not valid JSON.
//!
//! The stream follows these rules:
//!
//! - Each order starts with `OrderPlaced`. Most card orders then get `PaymentCaptured`,
//!   and the rest are cancelled because the payment was declined. Invoice orders have no
//!   capture. An order ends with `OrderShipped` or `OrderCancelled`.
//! - Up to [`MAX_OPEN_ORDERS`] orders are open at a time, so events of different orders
//!   interleave. Orders still open when `count` events are written stay unfinished.
//! - About 2% of orders are test orders, and every event of a test order has
//!   `"test": true`. Other events have `"test": false`.
//! - About 0.5% of records are malformed: a truncated event, or an event object without
//!   `type`. A malformed record still advances its order, like a corrupted copy of a real
//!   event.
//! - Currencies are EUR, USD, GBP and JPY. Amounts are decimal strings in major units,
//!   with two decimal places except for JPY, which has none.
//!
//! The same `count` and seed always produce the same bytes, and a shorter run is a prefix
//! of a longer one with the same seed.
//!
//! NOTE: the bytes for a seed depend on the `rand` 0.9 sampling algorithms, so a `rand`
//! upgrade may change the data set for a seed even though it stays valid.

use std::io::{self, Write};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The maximum number of orders with events still to come.
pub const MAX_OPEN_ORDERS: usize = 24;

/// Probability that a new order is a test order.
const TEST_ORDER_PROBABILITY: f64 = 0.02;

/// Probability that a record is malformed.
const MALFORMED_PROBABILITY: f64 = 0.005;

/// Probability of starting a new order, when fewer than [`MAX_OPEN_ORDERS`] are open,
/// instead of advancing an open one.
const NEW_ORDER_PROBABILITY: f64 = 0.4;

/// Number of distinct customers that orders are drawn from.
const CUSTOMER_COUNT: usize = 400;

/// Time of the first event: 2025-03-01T08:00:00Z, in milliseconds since the Unix epoch.
const START_MS: i64 = 1_740_816_000_000;

/// Maximum time between two consecutive events, in milliseconds.
const MAX_EVENT_GAP_MS: i64 = 12_000;

/// Counts of the records that [`generate`] wrote.
///
/// The per-type counts include events of test orders but not malformed records, so
/// `events` is the sum of the four per-type counts and `malformed_events`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SampleSummary {
    /// All records written.
    pub events: usize,
    /// Well-formed `OrderPlaced` events.
    pub order_placed: usize,
    /// Well-formed `PaymentCaptured` events.
    pub payment_captured: usize,
    /// Well-formed `OrderShipped` events.
    pub order_shipped: usize,
    /// Well-formed `OrderCancelled` events.
    pub order_cancelled: usize,
    /// Well-formed events with `"test": true`, which the filter step drops.
    pub test_events: usize,
    /// Records that are not valid JSON or lack `type`, which the filter step rejects.
    pub malformed_events: usize,
    /// Entries of `lines` over all well-formed `OrderPlaced` events of non-test orders:
    /// the number of records that the order-lines step emits.
    pub order_lines: usize,
}

/// Writes `count` order records generated from `seed` to `out`, one JSON object per line,
/// and returns what was written.
///
/// # Errors
///
/// Returns the first error of `out`. The records before it have been written.
pub fn generate(count: usize, seed: u64, out: &mut dyn Write) -> io::Result<SampleSummary> {
    let mut generator = Generator::new(seed);
    let mut summary = SampleSummary::default();

    for _ in 0..count {
        let event = generator.next_event();
        let record = generator.maybe_corrupt(&event);

        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        out.write_all(&line)?;

        summary.record(&event, &record);
    }
    Ok(summary)
}

impl SampleSummary {
    fn record(&mut self, event: &OrderEvent, record: &Record<'_>) {
        self.events += 1;
        if !record.is_well_formed() {
            self.malformed_events += 1;
            return;
        }

        if event.test {
            self.test_events += 1;
        }
        match &event.details {
            Details::Placed { lines, .. } => {
                self.order_placed += 1;
                if !event.test {
                    self.order_lines += lines.len();
                }
            }
            Details::Captured { .. } => self.payment_captured += 1,
            Details::Shipped { .. } => self.order_shipped += 1,
            Details::Cancelled { .. } => self.order_cancelled += 1,
        }
    }
}

/// One line of output.
#[derive(Serialize)]
struct Record<'a> {
    key: &'a str,
    value: RecordValue<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum RecordValue<'a> {
    Event(&'a OrderEvent),
    /// An event object without `type`.
    Untyped(Box<OrderEvent>),
    /// Raw value text that is not valid JSON.
    Text(String),
}

impl Record<'_> {
    fn is_well_formed(&self) -> bool {
        matches!(self.value, RecordValue::Event(_))
    }
}

#[derive(Clone, Serialize)]
struct OrderEvent {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    event_type: Option<&'static str>,
    event_id: String,
    order_id: String,
    occurred_at: String,
    test: bool,
    #[serde(flatten)]
    details: Details,
}

#[derive(Clone, Serialize)]
#[serde(untagged)]
enum Details {
    Placed {
        customer: CustomerFields,
        payment: PlacedPayment,
        currency: &'static str,
        total: String,
        lines: Vec<LineFields>,
    },
    Captured {
        currency: &'static str,
        amount: String,
        payment: CardFields,
    },
    Shipped {
        carrier: &'static str,
        tracking_id: String,
    },
    Cancelled {
        reason: &'static str,
    },
}

#[derive(Clone, Serialize)]
struct CustomerFields {
    id: String,
    email: String,
    name: String,
}

#[derive(Clone, Serialize)]
struct PlacedPayment {
    method: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    card: Option<CardFields>,
}

#[derive(Clone, Serialize)]
struct CardFields {
    card_number: String,
    card_expiry: String,
}

#[derive(Clone, Serialize)]
struct LineFields {
    sku: &'static str,
    quantity: u32,
    unit_price: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Currency {
    Eur,
    Usd,
    Gbp,
    Jpy,
}

impl Currency {
    fn code(self) -> &'static str {
        match self {
            Currency::Eur => "EUR",
            Currency::Usd => "USD",
            Currency::Gbp => "GBP",
            Currency::Jpy => "JPY",
        }
    }

    /// Converts a catalogue price in euro cents to minor units of this currency, at fixed
    /// made-up rates, rounded to prices that end in 9 (or in 0 for yen).
    fn price_minor(self, euro_cents: i64) -> i64 {
        match self {
            Currency::Eur => euro_cents,
            Currency::Usd => euro_cents * 108 / 1000 * 10 + 9,
            Currency::Gbp => euro_cents * 84 / 1000 * 10 + 9,
            Currency::Jpy => euro_cents * 162 / 1000 * 10,
        }
    }

    /// Formats minor units as a decimal string in major units, such as `129.90`.
    fn format(self, minor: i64) -> String {
        match self {
            Currency::Jpy => minor.to_string(),
            _ => format!("{}.{:02}", minor / 100, minor % 100),
        }
    }

    fn carriers(self) -> &'static [&'static str] {
        match self {
            Currency::Eur => &["DHL", "DPD", "GLS"],
            Currency::Usd => &["UPS", "FedEx", "USPS"],
            Currency::Gbp => &["Royal Mail", "DPD", "Evri"],
            Currency::Jpy => &["Yamato", "Sagawa", "Japan Post"],
        }
    }
}

/// Currencies with their weights out of 100.
const CURRENCIES: [(Currency, u32); 4] = [
    (Currency::Eur, 40),
    (Currency::Usd, 25),
    (Currency::Gbp, 15),
    (Currency::Jpy, 20),
];

/// Products with their prices in euro cents.
const CATALOGUE: [(&str, i64); 16] = [
    ("MUG-CER-350", 1290),
    ("TEE-ORG-M", 2490),
    ("TEE-ORG-L", 2490),
    ("HOOD-GRY-M", 5990),
    ("CAP-NVY", 1990),
    ("SOCK-3PK", 1490),
    ("BOTTLE-750", 2290),
    ("TOTE-CNV", 1590),
    ("NOTE-A5-DOT", 990),
    ("PEN-GEL-BLK", 390),
    ("LAMP-DESK-LED", 4990),
    ("BAG-BACK-20L", 7990),
    ("SCARF-WOOL", 3490),
    ("MAT-YOGA", 3990),
    ("BOOK-RUST-2E", 4490),
    ("PLANT-POT-S", 1190),
];

/// First names as displayed and as written in email addresses.
const FIRST_NAMES: [(&str, &str); 16] = [
    ("Anna", "anna"),
    ("Ben", "ben"),
    ("Chloé", "chloe"),
    ("David", "david"),
    ("Emma", "emma"),
    ("Finn", "finn"),
    ("Hana", "hana"),
    ("Jonas", "jonas"),
    ("José", "jose"),
    ("Lena", "lena"),
    ("Mia", "mia"),
    ("Noah", "noah"),
    ("Olivia", "olivia"),
    ("Ravi", "ravi"),
    ("Sofia", "sofia"),
    ("Zoë", "zoe"),
];

const LAST_NAMES: [(&str, &str); 16] = [
    ("Berg", "berg"),
    ("Brown", "brown"),
    ("Dubois", "dubois"),
    ("García", "garcia"),
    ("Jensen", "jensen"),
    ("Kowalski", "kowalski"),
    ("Müller", "mueller"),
    ("Nakamura", "nakamura"),
    ("O'Neill", "oneill"),
    ("Patel", "patel"),
    ("Rossi", "rossi"),
    ("Schmidt", "schmidt"),
    ("Smith", "smith"),
    ("Tanaka", "tanaka"),
    ("Walker", "walker"),
    ("Wright", "wright"),
];

/// Reserved example domains (RFC 2606), so no generated address can reach anyone.
const EMAIL_DOMAINS: [&str; 4] = ["example.com", "example.org", "example.net", "mail.example"];

struct Customer {
    fields: CustomerFields,
    card: CardFields,
}

/// Lifecycle stage of an open order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Placed,
    Captured,
}

struct OpenOrder {
    order_id: String,
    test: bool,
    currency: Currency,
    total_minor: i64,
    /// The card used, or `None` for an invoice order.
    card: Option<CardFields>,
    stage: Stage,
}

struct Generator {
    rng: ChaCha8Rng,
    customers: Vec<Customer>,
    open_orders: Vec<OpenOrder>,
    clock_ms: i64,
    event_count: u64,
    order_count: u64,
}

impl Generator {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let customers = (1..=CUSTOMER_COUNT)
            .map(|number| random_customer(&mut rng, number))
            .collect();
        Generator {
            rng,
            customers,
            open_orders: Vec::with_capacity(MAX_OPEN_ORDERS),
            clock_ms: START_MS,
            event_count: 0,
            order_count: 0,
        }
    }

    /// Starts a new order or advances an open one, and returns its next event.
    fn next_event(&mut self) -> OrderEvent {
        self.clock_ms += self.rng.random_range(0..=MAX_EVENT_GAP_MS);
        self.event_count += 1;

        let room_for_new = self.open_orders.len() < MAX_OPEN_ORDERS;
        if self.open_orders.is_empty()
            || (room_for_new && self.rng.random_bool(NEW_ORDER_PROBABILITY))
        {
            self.place_order()
        } else {
            let index = self.rng.random_range(0..self.open_orders.len());
            self.advance_order(index)
        }
    }

    fn place_order(&mut self) -> OrderEvent {
        self.order_count += 1;
        let order_id = format!("ord-{:08}", self.order_count);
        let test = self.rng.random_bool(TEST_ORDER_PROBABILITY);
        let currency = pick_weighted(&mut self.rng, &CURRENCIES);

        let line_count =
            pick_weighted(&mut self.rng, &[(1, 40), (2, 28), (3, 17), (4, 10), (5, 5)]);
        let mut lines = Vec::with_capacity(line_count);
        let mut total_minor = 0;
        for _ in 0..line_count {
            let (sku, euro_cents) = CATALOGUE[self.rng.random_range(0..CATALOGUE.len())];
            let quantity = pick_weighted(&mut self.rng, &[(1, 70), (2, 20), (3, 7), (4, 3)]);
            let unit_price_minor = currency.price_minor(euro_cents);
            total_minor += unit_price_minor * i64::from(quantity);
            lines.push(LineFields {
                sku,
                quantity,
                unit_price: currency.format(unit_price_minor),
            });
        }

        let customer = &self.customers[self.rng.random_range(0..self.customers.len())];
        let card = self.rng.random_bool(0.75).then(|| customer.card.clone());
        let payment = PlacedPayment {
            method: if card.is_some() { "card" } else { "invoice" },
            card: card.clone(),
        };
        let details = Details::Placed {
            customer: customer.fields.clone(),
            payment,
            currency: currency.code(),
            total: currency.format(total_minor),
            lines,
        };

        let order = OpenOrder {
            order_id,
            test,
            currency,
            total_minor,
            card,
            stage: Stage::Placed,
        };
        let event = self.event_for(&order, "OrderPlaced", details);
        self.open_orders.push(order);
        event
    }

    /// Emits the next event of the open order at `index`, and closes the order when that
    /// event ends its lifecycle.
    fn advance_order(&mut self, index: usize) -> OrderEvent {
        let order = &self.open_orders[index];
        let captures = order.stage == Stage::Placed && order.card.is_some();

        if captures && self.rng.random_bool(0.9) {
            let order = &mut self.open_orders[index];
            order.stage = Stage::Captured;
            let details = Details::Captured {
                currency: order.currency.code(),
                amount: order.currency.format(order.total_minor),
                payment: order.card.clone().expect("only card orders are captured"),
            };
            let order = &self.open_orders[index];
            return self.event_for(order, "PaymentCaptured", details);
        }

        let order = self.open_orders.swap_remove(index);
        if captures {
            let details = Details::Cancelled {
                reason: "payment_declined",
            };
            return self.event_for(&order, "OrderCancelled", details);
        }
        if self.rng.random_bool(0.93) {
            let carrier = pick(&mut self.rng, order.currency.carriers());
            let tracking_id = random_tracking_id(&mut self.rng, carrier);
            let details = Details::Shipped {
                carrier,
                tracking_id,
            };
            return self.event_for(&order, "OrderShipped", details);
        }
        let reason = pick(
            &mut self.rng,
            &["customer_request", "out_of_stock", "address_invalid"],
        );
        self.event_for(&order, "OrderCancelled", Details::Cancelled { reason })
    }

    fn event_for(
        &self,
        order: &OpenOrder,
        event_type: &'static str,
        details: Details,
    ) -> OrderEvent {
        OrderEvent {
            event_type: Some(event_type),
            event_id: format!("evt-{:08}", self.event_count),
            order_id: order.order_id.clone(),
            occurred_at: format_rfc3339_ms(self.clock_ms),
            test: order.test,
            details,
        }
    }

    /// Wraps `event` in a record, malformed with probability [`MALFORMED_PROBABILITY`].
    fn maybe_corrupt<'a>(&mut self, event: &'a OrderEvent) -> Record<'a> {
        let key = event.order_id.as_str();
        if !self.rng.random_bool(MALFORMED_PROBABILITY) {
            return Record {
                key,
                value: RecordValue::Event(event),
            };
        }

        if self.rng.random_bool(0.6) {
            let text = serde_json::to_string(event).expect("order events serialise to JSON");
            // Any proper prefix of a JSON object lacks its closing brace, so it is invalid.
            let mut cut = self.rng.random_range(text.len() / 4..text.len() * 3 / 4);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            return Record {
                key,
                value: RecordValue::Text(text[..cut].to_string()),
            };
        }

        let mut untyped = Box::new(event.clone());
        untyped.event_type = None;
        Record {
            key,
            value: RecordValue::Untyped(untyped),
        }
    }
}

fn random_customer(rng: &mut ChaCha8Rng, number: usize) -> Customer {
    let (first, first_ascii) = pick(rng, &FIRST_NAMES);
    let (last, last_ascii) = pick(rng, &LAST_NAMES);
    let domain = pick(rng, &EMAIL_DOMAINS);
    let email = match rng.random_range(0..3) {
        0 => format!("{first_ascii}.{last_ascii}@{domain}"),
        1 => format!(
            "{}{last_ascii}{}@{domain}",
            &first_ascii[..1],
            rng.random_range(1..100)
        ),
        _ => format!("{first_ascii}{last_ascii}@{domain}"),
    };

    Customer {
        fields: CustomerFields {
            id: format!("cus-{number:05}"),
            email,
            name: format!("{first} {last}"),
        },
        card: random_card(rng),
    }
}

/// Returns a 16-digit card number with a Visa or Mastercard prefix and a valid Luhn check
/// digit, and an expiry date in `MM/YY` form.
fn random_card(rng: &mut ChaCha8Rng) -> CardFields {
    let mut digits: Vec<u32> = if rng.random_bool(0.6) {
        vec![4]
    } else {
        vec![5, rng.random_range(1..=5)]
    };
    while digits.len() < 15 {
        digits.push(rng.random_range(0..10));
    }
    digits.push(luhn_check_digit(&digits));

    let card_number = digits
        .iter()
        .map(|digit| char::from_digit(*digit, 10).expect("digits are below 10"))
        .collect();
    let card_expiry = format!(
        "{:02}/{}",
        rng.random_range(1..=12),
        rng.random_range(26..=30)
    );
    CardFields {
        card_number,
        card_expiry,
    }
}

/// Returns the digit that makes `payload` followed by it pass the Luhn check.
fn luhn_check_digit(payload: &[u32]) -> u32 {
    // Counting from the right of the full number, the check digit is position 1, so the
    // payload's last digit is at position 2 and is doubled.
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(position, &digit)| {
            if position % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

fn random_tracking_id(rng: &mut ChaCha8Rng, carrier: &str) -> String {
    let prefix: String = carrier
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(2)
        .collect::<String>()
        .to_ascii_uppercase();
    format!("{prefix}{:012}", rng.random_range(0..1_000_000_000_000_u64))
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

fn pick_weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.random_range(0..total);
    for &(item, weight) in items {
        if roll < weight {
            return item;
        }
        roll -= weight;
    }
    unreachable!("the roll is below the sum of the weights")
}

/// Formats milliseconds since the Unix epoch as RFC 3339 in UTC, such as
/// `2025-03-01T08:00:00.000Z`.
fn format_rfc3339_ms(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(86_400_000);
    let ms_of_day = epoch_ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_date(days);

    let seconds = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        ms_of_day % 1000
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_date(days: i64) -> (i64, i64, i64) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of each year, and
    // split the days into 400-year eras of 146 097 days each.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);

    // Months counted from March, whose lengths repeat in a 153-day, 5-month pattern.
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;

    fn generate_lines(count: usize, seed: u64) -> (Vec<String>, SampleSummary) {
        let mut out = Vec::new();
        let summary = generate(count, seed, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        (text.lines().map(str::to_string).collect(), summary)
    }

    /// Parses each line and returns its key and value.
    fn parse_records(lines: &[String]) -> Vec<(String, Value)> {
        lines
            .iter()
            .map(|line| {
                let record: Value = serde_json::from_str(line).unwrap();
                let key = record["key"].as_str().unwrap().to_string();
                (key, record["value"].clone())
            })
            .collect()
    }

    /// Returns the well-formed event objects.
    fn events(records: &[(String, Value)]) -> Vec<&Value> {
        records
            .iter()
            .map(|(_, value)| value)
            .filter(|value| value.get("type").is_some())
            .collect()
    }

    fn parse_decimal(text: &str, exponent: u32) -> i64 {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        assert_eq!(fraction.len(), exponent as usize, "{text}");
        format!("{whole}{fraction}").parse().unwrap()
    }

    #[test]
    fn same_seed_same_bytes() {
        let mut first = Vec::new();
        let mut second = Vec::new();

        generate(2000, 7, &mut first).unwrap();
        generate(2000, 7, &mut second).unwrap();

        assert_eq!(first, second);
    }

    #[test]
    fn other_seed_other_bytes() {
        let mut first = Vec::new();
        let mut second = Vec::new();

        generate(100, 7, &mut first).unwrap();
        generate(100, 8, &mut second).unwrap();

        assert_ne!(first, second);
    }

    #[test]
    fn shorter_run_is_prefix() {
        let (short, _) = generate_lines(300, 11);
        let (long, _) = generate_lines(1000, 11);

        assert_eq!(short[..], long[..300]);
    }

    #[test]
    fn writes_count_lines() {
        for count in [0, 1, 57] {
            let (lines, summary) = generate_lines(count, 3);

            assert_eq!(lines.len(), count);
            assert_eq!(summary.events, count);
        }
    }

    #[test]
    fn summary_matches_output() {
        let (lines, summary) = generate_lines(5000, 21);
        let records = parse_records(&lines);

        let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
        let mut test_events = 0;
        let mut order_lines = 0;
        for event in events(&records) {
            let event_type = event["type"].as_str().unwrap();
            *by_type.entry(event_type).or_default() += 1;
            let test = event["test"].as_bool().unwrap();
            test_events += usize::from(test);
            if event_type == "OrderPlaced" && !test {
                order_lines += event["lines"].as_array().unwrap().len();
            }
        }

        assert_eq!(summary.order_placed, by_type["OrderPlaced"]);
        assert_eq!(summary.payment_captured, by_type["PaymentCaptured"]);
        assert_eq!(summary.order_shipped, by_type["OrderShipped"]);
        assert_eq!(summary.order_cancelled, by_type["OrderCancelled"]);
        assert_eq!(summary.test_events, test_events);
        assert_eq!(summary.order_lines, order_lines);
        assert_eq!(
            summary.malformed_events,
            records.len() - events(&records).len()
        );
    }

    #[test]
    fn malformed_records_are_invalid() {
        let (lines, summary) = generate_lines(20_000, 5);
        let records = parse_records(&lines);

        let mut truncated = 0;
        let mut untyped = 0;
        for (key, value) in &records {
            match value {
                Value::String(text) => {
                    assert!(serde_json::from_str::<Value>(text).is_err(), "{text}");
                    truncated += 1;
                }
                Value::Object(fields) if !fields.contains_key("type") => {
                    assert_eq!(fields["order_id"], *key);
                    untyped += 1;
                }
                _ => {}
            }
        }

        assert!(truncated > 0);
        assert!(untyped > 0);
        assert_eq!(truncated + untyped, summary.malformed_events);
    }

    #[test]
    fn proportions_are_roughly_right() {
        let (_, summary) = generate_lines(50_000, 1);

        let malformed_share = summary.malformed_events as f64 / summary.events as f64;
        let test_share = summary.test_events as f64 / summary.events as f64;
        let capture_share = summary.payment_captured as f64 / summary.order_placed as f64;

        assert!(
            (0.003..0.007).contains(&malformed_share),
            "{malformed_share}"
        );
        assert!((0.01..0.03).contains(&test_share), "{test_share}");
        assert!((0.55..0.8).contains(&capture_share), "{capture_share}");
        assert!(summary.order_shipped > summary.order_cancelled * 5);
    }

    #[test]
    fn orders_follow_lifecycle() {
        let (lines, _) = generate_lines(20_000, 9);
        let records = parse_records(&lines);

        let mut history: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut test_flags: BTreeMap<&str, bool> = BTreeMap::new();
        for event in events(&records) {
            let order_id = event["order_id"].as_str().unwrap();
            history
                .entry(order_id)
                .or_default()
                .push(event["type"].as_str().unwrap());
            let test = event["test"].as_bool().unwrap();
            assert_eq!(
                *test_flags.entry(order_id).or_insert(test),
                test,
                "{order_id}"
            );
        }

        let allowed = [
            vec!["OrderPlaced"],
            vec!["OrderPlaced", "PaymentCaptured"],
            vec!["OrderPlaced", "PaymentCaptured", "OrderShipped"],
            vec!["OrderPlaced", "PaymentCaptured", "OrderCancelled"],
            vec!["OrderPlaced", "OrderShipped"],
            vec!["OrderPlaced", "OrderCancelled"],
        ];
        for (order_id, types) in &history {
            // A malformed record removes one event from an order's visible history.
            let has_gap = types.first() != Some(&"OrderPlaced") || !allowed.contains(types);
            if has_gap {
                let malformed_for_order = records
                    .iter()
                    .any(|(key, value)| key == order_id && value.get("type").is_none());
                assert!(malformed_for_order, "{order_id}: {types:?}");
            }
        }

        let test_orders = test_flags.values().filter(|test| **test).count();
        let test_share = test_orders as f64 / test_flags.len() as f64;
        assert!((0.01..0.03).contains(&test_share), "{test_share}");
    }

    #[test]
    fn orders_interleave() {
        let (lines, _) = generate_lines(200, 4);
        let keys: Vec<String> = parse_records(&lines)
            .into_iter()
            .map(|(key, _)| key)
            .collect();

        let first_key = &keys[0];
        let last_position = keys.iter().rposition(|key| key == first_key).unwrap();
        let others_between = keys[..last_position].iter().any(|key| key != first_key);
        assert!(others_between, "the first order's events are contiguous");
    }

    #[test]
    fn amounts_match_currency() {
        let (lines, _) = generate_lines(5000, 13);
        let records = parse_records(&lines);

        let mut currencies = BTreeMap::new();
        for event in events(&records) {
            if event["type"] != "OrderPlaced" {
                continue;
            }
            let currency = event["currency"].as_str().unwrap();
            *currencies.entry(currency.to_string()).or_insert(0) += 1;
            let exponent = if currency == "JPY" { 0 } else { 2 };

            let line_sum: i64 = event["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|line| {
                    let quantity = line["quantity"].as_i64().unwrap();
                    quantity * parse_decimal(line["unit_price"].as_str().unwrap(), exponent)
                })
                .sum();
            assert_eq!(
                parse_decimal(event["total"].as_str().unwrap(), exponent),
                line_sum
            );
        }

        assert_eq!(
            currencies.keys().collect::<Vec<_>>(),
            ["EUR", "GBP", "JPY", "USD"]
        );
    }

    #[test]
    fn card_numbers_pass_luhn() {
        let (lines, _) = generate_lines(2000, 17);
        let records = parse_records(&lines);

        let card_numbers: Vec<&str> = events(&records)
            .iter()
            .filter_map(|event| event.get("payment")?.get("card_number")?.as_str())
            .collect();

        assert!(!card_numbers.is_empty());
        for card_number in card_numbers {
            let digits: Vec<u32> = card_number
                .chars()
                .map(|c| c.to_digit(10).unwrap())
                .collect();
            assert_eq!(digits.len(), 16, "{card_number}");
            assert_eq!(luhn_check_digit(&digits[..15]), digits[15], "{card_number}");
        }
    }

    #[test]
    fn luhn_matches_known_number() {
        // 4111 1111 1111 1111 is a widely published test card number.
        assert_eq!(
            luhn_check_digit(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
            1
        );
    }

    #[test]
    fn event_fields_follow_schema() {
        let (lines, _) = generate_lines(1000, 2);
        let records = parse_records(&lines);

        for event in events(&records) {
            assert!(event["event_id"].as_str().unwrap().starts_with("evt-"));
            assert!(event["order_id"].as_str().unwrap().starts_with("ord-"));
            assert!(event["occurred_at"].as_str().unwrap().ends_with('Z'));
            assert!(event["test"].is_boolean());
            if event["type"] == "OrderPlaced" {
                let email = event["customer"]["email"].as_str().unwrap();
                assert!(email.contains('@'), "{email}");
                let line_count = event["lines"].as_array().unwrap().len();
                assert!((1..=5).contains(&line_count));
            }
        }
    }

    #[test]
    fn event_times_increase() {
        let (lines, _) = generate_lines(500, 6);
        let records = parse_records(&lines);

        let times: Vec<&str> = events(&records)
            .iter()
            .map(|event| event["occurred_at"].as_str().unwrap())
            .collect();

        assert_eq!(times[0][..10], *"2025-03-01");
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
    }

    #[test]
    fn rfc3339_formats_known_times() {
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339_ms(START_MS), "2025-03-01T08:00:00.000Z");
        assert_eq!(
            format_rfc3339_ms(951_868_799_123),
            "2000-02-29T23:59:59.123Z"
        );
        assert_eq!(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
    }
}
