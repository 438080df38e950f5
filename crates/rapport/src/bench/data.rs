//! A realistic, reproducible data set: names of several cultures with accents, emails, phone
//! numbers of several countries in several formats, tags, stages, assignments to the tenant's
//! sales people, conversations with topics, and people who come back under a typo, another spelling or another phone format.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// Given names of several cultures, more common first: a person's is drawn with a skew
/// (`skewed`), so that, as in life, a few full names are shared by a score of a large
/// tenant's customers and most by one or a few: 100,000 people hold about 48,000 full
/// names, the commonest about 20 of them, and a person shares theirs with about 3 others
/// on average (with the 1,326 names of earlier lists it was 75, which no real customer base
/// has: every chat then met 50 namesakes).
const FIRST: &str = "José María Zoë François Søren Łukasz Ayşe Björn Chloé Mohammed Fatima Wei Yuki Olusegun Priya Siobhán Mateus Ana John Emily Michael Sarah David Laura Omar Ingrid Giulia Pedro Hannah Kwame Leila Dmitri Elena Tomás Renée André Noah Mia \
     Lucía Sofía Valentina Camila Isabela Gabriel João Thiago Rafael Beatriz Inês Matías Santiago Alejandro Carmen Javier Pilar Álvaro Héctor Raúl \
     Amélie Léa Manon Étienne Benoît Hélène Céline Théo Jérôme Margaux \
     Jürgen Lukas Felix Greta Anja Matthias Katharina Tobias Maximilian Lena \
     Astrid Freja Magnus Sigrid Lars Henrik Elin Nils Oskar Maja \
     Agnieszka Katarzyna Paweł Jakub Zuzana Jiří Petr Tereza Marek Małgorzata \
     Mehmet Emre Zeynep Elif Burak Can Selin Murat \
     Linh Minh Thảo Hùng Quân \
     Li Jing Hao Xin Mei Jun Lei Yan Fang Ming \
     Haruto Sakura Ren Aoi Hiroshi Kenji Yui Takumi \
     Jisoo Minjun Seoyeon Jiho Hyun \
     Arjun Ananya Rahul Deepa Vikram Sanjay Kavya Rohan Lakshmi Aditi \
     Ahmed Yusuf Layla Khalid Nour Hassan Amira Karim Salma Tariq \
     Chinedu Ngozi Adaeze Emeka Abena Kofi Ama Tunde Folake Yaw \
     Aoife Ciarán Niamh Seán Róisín Eoin \
     Alessandro Francesca Lorenzo Chiara Matteo Federica Giovanni \
     Ivan Olga Sergei Natalia Anastasia Mikhail Tatiana \
     James Mary Robert Patricia William Jennifer Elizabeth Thomas Jessica Daniel Olivia Emma Liam Charlotte Benjamin Amelia Henry Grace Samuel Lily \
     Daan Sanne Bram Femke \
     Giorgos Eleni Dimitra Nikos \
     Yael Avi Noa Eitan";
/// Family names of several cultures, more common first; `|` between them (some hold spaces).
const LAST: &str = "García|Müller|Rodríguez|Nguyen|Smith|Johnson|Kowalski|Öztürk|Dubois|Rossi|Silva|Kim|Tanaka|Okafor|Patel|O'Brien|Andersson|Novák|Fernández|Lefèvre|Schmidt|Brown|Wilson|Jensen|Costa|Hernández|Martin|Cohen|Ivanova|Murphy|Santos|Ferrari|Larsen|Haddad|\
     López|Martínez|González|Pérez|Sánchez|Ramírez|Torres|Flores|Rivera|Gómez|Díaz|Morales|Ortiz|Castillo|Jiménez|Ruiz|Álvarez|Romero|Navarro|Domínguez|Vázquez|Ramos|Gil|Serrano|Molina|\
     Oliveira|Souza|Pereira|Almeida|Carvalho|Ribeiro|Gonçalves|Araújo|Barbosa|Rocha|Ferreira|Lima|\
     Bernard|Durand|Leroy|Moreau|Laurent|Lefebvre|Girard|Bonnet|Fournier|Mercier|Rousseau|Blanc|Chevalier|Faure|\
     Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|Koch|Richter|Klein|Wolf|Schröder|Neumann|Braun|Zimmermann|Krüger|Hartmann|Lange|Schäfer|\
     Nielsen|Hansen|Pedersen|Johansson|Karlsson|Nilsson|Eriksson|Lindqvist|Berg|Haugen|Virtanen|Korhonen|\
     Nowak|Wiśniewski|Wójcik|Kamiński|Lewandowski|Zieliński|Dvořák|Svoboda|Černý|Procházka|Horváth|Nagy|\
     Yılmaz|Kaya|Demir|Şahin|Çelik|Aydın|Arslan|Doğan|\
     Trần|Lê|Phạm|Hoàng|Vũ|Đặng|Bùi|\
     Wang|Li|Zhang|Liu|Chen|Yang|Huang|Zhao|Wu|Zhou|Xu|Sun|Ma|Zhu|Hu|Guo|Lin|He|Gao|Luo|\
     Sato|Suzuki|Takahashi|Watanabe|Ito|Yamamoto|Nakamura|Kobayashi|Kato|Yoshida|Yamada|Sasaki|\
     Lee|Park|Choi|Jung|Kang|Cho|Yoon|Jang|\
     Sharma|Singh|Kumar|Gupta|Reddy|Iyer|Nair|Mehta|Shah|Joshi|Rao|Das|Chatterjee|Banerjee|Menon|\
     Hassan|Ali|Ibrahim|Mansour|Khalil|Saleh|Nasser|Farouk|Al-Sayed|Abdullah|Rahman|Hussein|\
     Adeyemi|Okonkwo|Mensah|Boateng|Owusu|Nwosu|Adebayo|Eze|Asante|Obi|Mwangi|Otieno|\
     Kelly|Byrne|Ryan|Walsh|O'Connor|O'Sullivan|McCarthy|Doyle|Gallagher|\
     Russo|Bianchi|Romano|Colombo|Ricci|Marino|Greco|Bruno|Gallo|Conti|De Luca|Esposito|\
     Smirnov|Kuznetsov|Popov|Volkov|Sokolova|Petrov|Morozova|Lebedev|\
     Williams|Jones|Miller|Davis|Taylor|Anderson|Thomas|Jackson|White|Harris|Thompson|Moore|Clark|Lewis|Robinson|Walker|Young|Allen|King|Wright|Scott|Green|Baker|Adams|Nelson|Hill|Campbell|Mitchell|Roberts|Carter|\
     de Jong|Jansen|de Vries|van den Berg|Bakker|Visser|\
     Papadopoulos|Georgiou|Nikolaidis|\
     Levi|Mizrahi|Friedman|Katz";

/// The names of a list above.
fn names(list: &'static str, separator: char) -> Vec<&'static str> {
    list.split(separator).map(str::trim).filter(|n| !n.is_empty()).collect()
}

static FIRST_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| names(FIRST, ' '));
static LAST_NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| names(LAST, '|'));

/// An index into a list of `len`, the first more likely: `len · u^1.3` for a uniform `u`.
fn skewed(r: &mut StdRng, len: usize) -> usize {
    ((len as f64 * r.gen::<f64>().powf(1.3)) as usize).min(len - 1)
}

const TAGS: &[&str] =
    &["vip", "wholesale", "north", "south", "urgent", "newsletter", "partner", "b2b", "event-2026", "referral"];
const STAGES: &[&str] = &["prospect", "lead", "customer", "churned"];
const TOPICS: &[&str] =
    &["paver patio", "retaining wall", "outdoor kitchen", "excavation", "pricing", "drainage", "fire pit", "lighting"];

/// The version of the people's draws, recorded with a load: a change to what `person`
/// draws, or in what order, makes other people from the same seed, so a data set loaded
/// by another version cannot be reused (2: assignees drawn, 2026-12-07).
pub const GENERATOR: u32 = 2;

/// One person as generated: the record, and how to write their phone in other ways.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
    /// (country code, national digits)
    pub phone: (u8, String),
    pub tags: Vec<&'static str>,
    pub stage: &'static str,
    /// Which of the tenant's sales people the customer is assigned to, as a draw to be
    /// taken modulo their number (`as_customer`); `None` for the unassigned quarter.
    pub assignee: Option<u32>,
}

impl Person {
    pub fn phone_e164(&self) -> String {
        format!("+{}{}", self.phone.0, self.phone.1)
    }

    /// The same phone in another of the formats people type.
    pub fn phone_variant(&self, rng: &mut StdRng) -> String {
        let (cc, n) = &self.phone;
        match (cc, rng.gen_range(0..3)) {
            (1, 0) => format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..]),
            (1, 1) => format!("{}.{}.{}", &n[..3], &n[3..6], &n[6..]),
            (44, 0) => format!("+44 (0){} {} {}", &n[..2], &n[2..6], &n[6..]),
            (49, 0) => format!("+49 {} {}", &n[..2], &n[2..]),
            _ => format!("+{cc} {n}"),
        }
    }

    /// The customer record to load, assigned to one of `sales` (the tenant's sales people)
    /// when the person was drawn with an assignee.
    pub fn as_customer(&self, sales: &[uuid::Uuid]) -> Value {
        let assigned_to = match (self.assignee, sales.len()) {
            (Some(draw), n) if n > 0 => Some(sales[draw as usize % n]),
            _ => None,
        };
        json!({"name": self.name, "email": self.email, "phone": self.phone_e164(), "tags": self.tags,
               "lifecycle_stage": self.stage, "assigned_to": assigned_to})
    }
}

/// A name as someone else might type it: a typo, accents dropped, or the order swapped.
pub fn name_variant(name: &str, rng: &mut StdRng) -> String {
    match rng.gen_range(0..4) {
        0 => name
            .chars()
            .map(|c| match c {
                'é' | 'è' => 'e',
                'á' => 'a',
                'í' => 'i',
                'ó' | 'ö' => 'o',
                'ü' | 'ú' => 'u',
                'ë' => 'e',
                'ç' => 'c',
                'ñ' => 'n',
                x => x,
            })
            .collect(),
        1 => name.to_uppercase(),
        2 => {
            let parts: Vec<&str> = name.split(' ').collect();
            if parts.len() == 2 {
                format!("{}, {}", parts[1], parts[0])
            } else {
                name.to_string()
            }
        }
        _ => {
            // Swap two neighbouring letters inside the last word.
            let mut chars: Vec<char> = name.chars().collect();
            let n = chars.len();
            if n > 5 {
                let i = rng.gen_range(n / 2..n - 2);
                chars.swap(i, i + 1);
            }
            chars.into_iter().collect()
        }
    }
}

pub struct Generator {
    pub rng: StdRng,
    counter: u64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Self { rng: StdRng::seed_from_u64(seed), counter: 0 }
    }

    /// Draws what follows from `salt` and numbers new people's emails from it on, so that a
    /// run on a reused data set makes people no earlier run made.
    pub fn renew(&mut self, salt: u64) {
        self.rng = StdRng::seed_from_u64(salt);
        self.counter = salt;
    }

    pub fn person(&mut self) -> Person {
        self.counter += 1;
        let r = &mut self.rng;
        let first = FIRST_NAMES[skewed(r, FIRST_NAMES.len())];
        let last = LAST_NAMES[skewed(r, LAST_NAMES.len())];
        let ascii: String = format!("{first}.{last}")
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        let domain = ["example.com", "mail.example.org", "example.net", "müller.example"][r.gen_range(0..4)];
        let phone = match r.gen_range(0..4) {
            0 | 1 => (
                1u8,
                format!(
                    "{}{:03}{:04}",
                    [212, 415, 646, 312, 617][r.gen_range(0..5)],
                    r.gen_range(200..999),
                    r.gen_range(0..9999)
                ),
            ),
            2 => (44u8, format!("20{:04}{:04}", r.gen_range(1000..9999), r.gen_range(0..9999))),
            _ => (49u8, format!("30{:07}", r.gen_range(1_000_000..9_999_999))),
        };
        let ntags = r.gen_range(0..3);
        let tags = (0..ntags)
            .map(|_| TAGS[r.gen_range(0..TAGS.len())])
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        Person {
            name: format!("{first} {last}"),
            email: format!("{ascii}.{}@{domain}", self.counter),
            phone,
            tags,
            stage: STAGES[r.gen_range(0..STAGES.len())],
            assignee: r.gen_bool(0.75).then(|| r.gen()),
        }
    }

    /// A CSV file of `rows` customers: at `returning_rate`, a person of `known` under
    /// another spelling (the email in capitals, or the phone in another format only), who
    /// should update that customer; new people else.
    pub fn import_csv(&mut self, rows: usize, known: &[(Person, uuid::Uuid)], returning_rate: f64) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["Name", "E-mail", "Phone", "Tags", "Stage", "Company"]);
        for _ in 0..rows {
            let returning = !known.is_empty() && self.rng.gen_bool(returning_rate.clamp(0.0, 1.0));
            let record = if returning {
                let p = &known[self.rng.gen_range(0..known.len())].0;
                let name = name_variant(&p.name, &mut self.rng);
                let (email, phone) = if self.rng.gen_bool(0.5) {
                    (p.email.to_uppercase(), String::new())
                } else {
                    (String::new(), p.phone_variant(&mut self.rng))
                };
                [name, email, phone, String::new(), String::new(), "Returning Co".to_string()]
            } else {
                let p = self.person();
                [p.name.clone(), p.email.clone(), p.phone_e164(), p.tags.join(";"), p.stage.to_string(), String::new()]
            };
            let _ = w.write_record(&record);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// A conversation body for `p`, in the words a chat system would send; `variant` makes
    /// the person spell themselves differently.
    pub fn conversation(&mut self, p: &Person, variant: bool) -> Value {
        let r = &mut self.rng;
        let topic = TOPICS[r.gen_range(0..TOPICS.len())];
        let other = TOPICS[r.gen_range(0..TOPICS.len())];
        let name = if variant { name_variant(&p.name, r) } else { p.name.clone() };
        let contact = match r.gen_range(0..3) {
            0 => json!({"name": name, "email": p.email.to_uppercase()}),
            1 => json!({"name": name, "phone": p.phone_variant(r)}),
            _ => json!({"name": name, "email": p.email, "phone": p.phone_variant(r)}),
        };
        json!({
            "channel": "web_chat",
            "contact": contact,
            "messages": [
                {"role": "customer", "text": format!("Hi, I'm interested in a {topic}. What about {other} and pricing?")},
                {"role": "assistant", "text": "Happy to help! Could you share your address?"},
                {"role": "customer", "text": format!("Sure. The {topic} should be done before summer.")}
            ],
            "interaction_count": r.gen_range(1..20),
            "view_count": r.gen_range(0..10),
            "duration_seconds": r.gen_range(30..1800),
        })
    }
}
