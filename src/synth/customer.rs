//! Generated customers: names, addresses and the accounts their payments came from.

use super::Rng;

/// A customer, with an address and the account their payments came from.
pub(super) struct Customer {
    pub name: String,
    pub email: String,
    pub iban: String,
}

const FIRST: &[&str] = &[
    "Léa", "Henrik", "Anna", "Jonas", "Marta", "Pieter", "Sofía", "Ahmed", "Chloé", "Mateo",
    "Ines", "Olu", "Kasia", "Yuki", "Nora", "Emil", "Rosa", "Ivo", "Amara", "Tomás",
];
const LAST: &[&str] = &[
    "Dubois", "Larsen", "Schmidt", "Keller", "Rossi", "de Vries", "García", "Haddad", "Martin",
    "Novak", "Silva", "Okafor", "Kowalski", "Sato", "Berg", "Weber", "Costa", "Horvat", "Diallo",
    "Byrne",
];
pub(super) const PRODUCTS: &[(&str, &str, &str)] = &[
    ("CF-ETH-1K", "Yirgacheffe beans 1 kg", "34.90"),
    ("GR-CON-60", "Conical burr grinder C60", "189.00"),
    ("SC-BRW-01", "Brew scale with timer", "49.90"),
    ("LB-ESP-200", "Lumo Barista espresso machine", "349.90"),
    ("FP-V60-100", "Paper filters V60 (100 pcs)", "6.50"),
    ("KT-GOO-12", "Gooseneck kettle 1.2 l", "79.00"),
];

pub(super) fn customer(rng: &mut Rng) -> Customer {
    let first = rng.pick(FIRST);
    let last = rng.pick(LAST);
    let ascii = |s: &str| -> String {
        s.chars()
            .filter_map(|c| match c {
                'é' => Some('e'),
                'í' => Some('i'),
                'á' => Some('a'),
                ' ' => None,
                c => Some(c.to_ascii_lowercase()),
            })
            .collect()
    };
    let tld = rng.pick(&["net", "org", "de", "dk", "fr", "es"]);
    Customer {
        name: format!("{first} {last}"),
        email: format!(
            "{}.{}{}@example.{tld}",
            ascii(first),
            ascii(last),
            rng.below(1000)
        ),
        iban: format!(
            "{}{:02}{:018}",
            rng.pick(&["DE", "NL", "FR", "ES", "IT"]),
            10 + rng.below(89),
            rng.below(1_000_000_000_000_000_000)
        ),
    }
}
