//! A labelled synthetic tenant for measuring the duplicate scan: distinct people of many
//! cultures in the US, UK and Germany, a share of them entered again one or two times with
//! the corruptions real CRMs collect, and household members who share an address and
//! sometimes a phone but are different people. Seeded, so every run is reproducible.

use std::collections::{BTreeMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rapport_core::identity::fold_name;
use rapport_core::identity::scan::ScanRecord;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

/// Given names, family names, middle names (may be empty), chance of writing the family name
/// first, chance of a second family name.
struct Culture(&'static str, &'static str, &'static str, f64, f64);

const CULTURES: &[Culture] = &[
    Culture("James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Emily Olivia Emma Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Nancy Betty Margaret Sandra Ashley Dorothy Kimberly Donna",
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson Thompson White Harris Clark Lewis Walker Hall Young King Wright Hill Scott Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins",
        "Lee Ann Marie James Lynn", 0.03, 0.0),
    Culture("Aoife Siobhán Niamh Saoirse Ciarán Seán Pádraig Eoin Róisín Oisín Caoimhe Declan Liam Conor Órla Éanna Dara Fionnuala Cathal Colm Deirdre Eimear Gráinne Tadhg Ruairí",
        "Murphy Kelly O'Sullivan Walsh O'Brien Byrne Ryan O'Connor O'Neill O'Reilly Doyle McCarthy Gallagher O'Doherty Kennedy Lynch Murray Quinn Moore McLoughlin O'Carroll Connolly Daly Ó Súilleabháin Brennan",
        "", 0.03, 0.0),
    Culture("José María Juan Carmen Francisco Lucía Javier Sofía Alejandro Marta Jesús Ángel Dolores Andrés Inés Raúl Álvaro Begoña Concepción Íñigo Adrián Paula Sergio Elena Rocío Nuria Joaquín Ramón",
        "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez Ramos Gil Ramírez Serrano Blanco Suárez",
        "", 0.05, 0.5),
    Culture("Lukas Jürgen Günter Björn Jörg Sören Maximilian Anna Lena Käthe Uwe Klaus Sabine Ursula Hans Stefan Katrin Jürgen Dörte Götz Monika Andreas Tobias Felix Jana Hannah Matthias Wolfgang Birgit Ingrid",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Weiß Krüger Groß Hartmann Lange Köhler Jäger Böhm Vogel Schütz",
        "", 0.05, 0.0),
    Culture("Jean François Hélène Chloé Léa Théo Noël Zoé Amélie Élodie Jérôme Céline Benoît Gaëlle Mathéo Camille Inès Aurélie Sébastien Stéphane Frédéric Margaux Clément Anaïs Loïc Étienne Agnès Thibault",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèvre Michel Garcia Bonnet Rousseau Girard Lefebvre Mercier Dupont Lambert Fontaine Chevalier Guérin Faure Rivière Lemaître",
        "Marie Pierre", 0.05, 0.0),
    Culture("Łukasz Paweł Michał Krzysztof Tomasz Małgorzata Agnieszka Katarzyna Józef Wojciech Zofia Grażyna Bartłomiej Jędrzej Anna Piotr Magdalena Marcin Joanna Kamil Ewa Dorota Mateusz Jakub Władysław",
        "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski Nowakowski Pawłowski Michalski Wróbel Jabłoński Król",
        "", 0.05, 0.0),
    Culture("Mehmet Mustafa Ahmet Ayşe Fatma Emine Hüseyin Şükrü Gülşen Özlem Çağla İbrahim Yusuf Elif Zeynep Ömer Hatice Merve Burak Emre Selin Ebru Gökhan Serkan Tuğba Murat",
        "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin Koç Kurt Özkan Şimşek Polat Korkmaz Karakaya Erdoğan Güneş",
        "", 0.05, 0.0),
    Culture("An Anh Bảo Dũng Hùng Hương Lan Linh Mai Minh Nam Phương Quang Thảo Trang Tuấn Việt Hà Hạnh Khánh Long Ngọc Phúc Quỳnh Sơn Thủy Trung Vy",
        "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh Trương Lâm Mai",
        "Văn Thị Minh Đức Ngọc Thanh Hữu Quốc", 0.5, 0.0),
    Culture("Chinedu Ngozi Oluwaseun Adebayo Chukwuemeka Folake Emeka Ifeoma Tunde Yetunde Obinna Amaka Babatunde Funmilayo Chiamaka Oluwadamilare Nnamdi Adaeze Segun Kehinde Taiwo Uchenna Ifeanyi Bukola Temitope",
        "Okafor Adeyemi Okonkwo Balogun Eze Nwosu Ogunleye Adewale Obi Afolabi Okeke Ibrahim Bello Abubakar Oyelaran Olawale Nwachukwu Chukwu Adeleke Onyeka Akinola Ogundipe Uzor Babangida",
        "", 0.05, 0.0),
    Culture("Aarav Priya Rahul Ananya Vikram Sneha Arjun Deepika Rohan Kavya Sanjay Lakshmi Amit Pooja Suresh Venkatesh Aditya Divya Karthik Meera Nikhil Shreya Rajesh Anjali Harish Swati",
        "Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Rao Mehta Joshi Desai Chopra Banerjee Mukherjee Krishnan Pillai Agarwal Bhat Menon Chatterjee Verma Malhotra Kapoor Shah",
        "Kumar Kumari Prasad", 0.05, 0.0),
];

/// Cities with their postal prefixes, street names and street kinds of the US, UK and DE.
struct Country(&'static [(&'static str, &'static str)], &'static str, &'static str);

const COUNTRIES: &[Country] = &[
    Country(&[("New York", "100 101 102 112"), ("Los Angeles", "900 902"), ("Chicago", "606"), ("Houston", "770"),
        ("Phoenix", "850"), ("Philadelphia", "191"), ("San Antonio", "782"), ("San Diego", "921"), ("Dallas", "752"),
        ("Austin", "787"), ("Seattle", "981"), ("Denver", "802"), ("Boston", "021"), ("Miami", "331"), ("Atlanta", "303")],
        "Oak Maple Main Cedar Pine Elm Washington Lake Hill Park Sunset Lincoln Jackson Highland Willow Church Chestnut Walnut Spruce Ridge Meadow Forest River Spring Madison Franklin Jefferson Adams Cherry Birch",
        "Street Avenue Road Drive Lane Boulevard Court Place"),
    Country(&[("London", "SW E N NW SE W EC"), ("Manchester", "M"), ("Birmingham", "B"), ("Leeds", "LS"), ("Glasgow", "G"),
        ("Liverpool", "L"), ("Bristol", "BS"), ("Edinburgh", "EH"), ("Cardiff", "CF"), ("Belfast", "BT"), ("Sheffield", "S")],
        "High Church Station Victoria Green Manor Park Queen's King's Mill Albert York Grange Springfield Windsor Chapel Mount Richmond Stanley Cromwell",
        "Road Street Lane Close Avenue Gardens Crescent Way Terrace"),
    Country(&[("Berlin", "10 12 13"), ("Hamburg", "20 22"), ("München", "80 81"), ("Köln", "50 51"), ("Frankfurt am Main", "60"),
        ("Stuttgart", "70"), ("Düsseldorf", "40"), ("Leipzig", "04"), ("Dortmund", "44"), ("Essen", "45"), ("Nürnberg", "90")],
        "Haupt Schul Garten Bahnhof Dorf Berg Kirch Linden Birken Schiller Goethe Mozart Wald Rosen Friedrich Wilhelm Eichen Buchen Tannen Blumen",
        "straße weg allee ring gasse"),
];

const COMPANIES: &str = "Acme Inc.|Globex Corporation|Initech LLC|Müller & Söhne GmbH|Umbrella Ltd|Stark Industries|Wayne Enterprises|Hooli|Vandelay Industries|Soylent Corp|Tyrell Corporation|Cyberdyne Systems|Wonka Industries|Dunder Mifflin|Pied Piper|Bauhaus Planung GmbH|Société Générale de Jardins|Kowalski i Synowie Sp. z o.o.|Anadolu Lojistik A.Ş.|Lagos Freight Ltd|Infosys Consulting|Saigon Imports LLC|Dublin Design Studio|Madrid Reformas S.L.|Northwind Traders";

const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "web.de",
    "gmx.de",
    "btinternet.com",
];

/// The records, and for each record the person it is.
pub struct Labelled {
    pub records: Vec<ScanRecord>,
    pub entity: Vec<u32>,
}

impl Labelled {
    /// Every pair of records of one person, `a < b`.
    pub fn true_pairs(&self) -> HashSet<(Uuid, Uuid)> {
        let mut by: BTreeMap<u32, Vec<Uuid>> = BTreeMap::new();
        for (r, e) in self.records.iter().zip(&self.entity) {
            by.entry(*e).or_default().push(r.id);
        }
        let mut pairs = HashSet::new();
        for ids in by.values() {
            for (i, a) in ids.iter().enumerate() {
                for b in &ids[i + 1..] {
                    pairs.insert(if a < b { (*a, *b) } else { (*b, *a) });
                }
            }
        }
        pairs
    }
}

/// A person as they really are; records are renderings of it, clean or corrupted.
#[derive(Clone)]
struct Person {
    given: Vec<String>,
    family: Vec<String>,
    family_first: bool,
    emails: Vec<String>,
    phone: Option<String>,
    country: usize,
    address: Option<(String, String, String)>,
    company: Option<String>,
    birth: Option<(u32, u32, u32)>,
    external: Option<String>,
}

fn words(s: &'static str) -> Vec<&'static str> {
    s.split(' ').filter(|w| !w.is_empty()).collect()
}

/// Names are Zipf-distributed: a few very common, a long tail of rare ones.
fn zipf<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    let total: f64 = (1..=items.len()).map(|i| (i as f64).powf(-0.8)).sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, it) in items.iter().enumerate() {
        x -= ((i + 1) as f64).powf(-0.8);
        if x <= 0.0 {
            return it;
        }
    }
    items[items.len() - 1]
}

fn ascii(s: &str) -> String {
    fold_name(s).chars().filter(char::is_ascii_alphanumeric).collect()
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
}

fn phone(rng: &mut StdRng, country: usize) -> String {
    match country {
        0 => format!("+1{}{}{}", rng.gen_range(201..990), rng.gen_range(200..1000), digits(rng, 4)),
        1 => format!("+447{}", digits(rng, 9)),
        _ => {
            let prefix = ["151", "160", "170", "171", "176", "30", "40", "89"].choose(rng).copied().unwrap_or("30");
            let n = if prefix.len() == 2 { 8 } else { 7 + rng.gen_range(0..2) };
            format!("+49{prefix}{}", digits(rng, n))
        }
    }
}

fn address(rng: &mut StdRng, country: usize) -> (String, String, String) {
    let Country(cities, streets, kinds) = &COUNTRIES[country];
    let (city, prefixes) = cities.choose(rng).copied().unwrap_or(cities[0]);
    let prefix = words(prefixes).choose(rng).copied().unwrap_or("1");
    let name = words(streets).choose(rng).copied().unwrap_or("Main");
    let kind = words(kinds).choose(rng).copied().unwrap_or("Road");
    let number = rng.gen_range(1..300);
    match country {
        0 => (format!("{} {name} {kind}", rng.gen_range(1..9999)), city.into(), format!("{prefix}{}", digits(rng, 2))),
        1 => {
            let l = |rng: &mut StdRng| char::from(b'A' + rng.gen_range(0..26u8));
            let post = format!("{prefix}{} {}{}{}", rng.gen_range(1..20), rng.gen_range(1..10), l(rng), l(rng));
            (format!("{number} {name} {kind}"), city.into(), post)
        }
        _ => (format!("{name}{kind} {number}"), city.into(), format!("{prefix}{}", digits(rng, 3))),
    }
}

fn email(rng: &mut StdRng, p: &Person, used: &mut HashSet<String>) -> String {
    let first = p.given.first().or(p.family.first()).map_or("x", String::as_str);
    let (g, f) = (ascii(first), ascii(p.family.last().map_or("x", String::as_str)));
    let fi: String = g.chars().take(1).collect();
    let local = match rng.gen_range(0..7) {
        0 => format!("{g}.{f}"),
        1 => format!("{g}{f}"),
        2 => format!("{fi}{f}"),
        3 => format!("{g}_{f}"),
        4 => format!("{g}{}", rng.gen_range(1..100)),
        5 => format!("{f}.{g}{}", rng.gen_range(60..100)),
        _ => format!("{fi}.{f}{}", rng.gen_range(1..1000)),
    };
    let domain = EMAIL_DOMAINS.choose(rng).copied().unwrap_or("gmail.com");
    let mut e = format!("{local}@{domain}");
    while !used.insert(e.clone()) {
        e = format!("{local}{}@{domain}", rng.gen_range(1..10_000));
    }
    e
}

fn person(rng: &mut StdRng, used: &mut HashSet<String>, next_ext: &mut u32) -> Person {
    let Culture(given, family, middle, family_first, second) = &CULTURES[rng.gen_range(0..CULTURES.len())];
    let (given, family, middle) = (words(given), words(family), words(middle));
    let mut g = vec![zipf(rng, &given).to_string()];
    if !middle.is_empty() && rng.gen_bool(0.3) {
        g.push(zipf(rng, &middle).to_string());
    }
    let mut f = vec![zipf(rng, &family).to_string()];
    if rng.gen_bool(*second) {
        f.push(zipf(rng, &family).to_string());
    }
    let country = [0, 0, 1, 2].choose(rng).copied().unwrap_or(0);
    let mut p = Person {
        given: g,
        family: f,
        family_first: rng.gen_bool(*family_first),
        emails: Vec::new(),
        phone: rng.gen_bool(0.75).then(|| phone(rng, country)),
        country,
        address: rng.gen_bool(0.65).then(|| address(rng, country)),
        company: rng
            .gen_bool(0.25)
            .then(|| COMPANIES.split('|').collect::<Vec<_>>().choose(rng).map(|c| c.to_string()))
            .flatten(),
        birth: rng.gen_bool(0.25).then(|| (rng.gen_range(1945..2005), rng.gen_range(1..13), rng.gen_range(1..29))),
        external: None,
    };
    if rng.gen_bool(0.1) {
        *next_ext += 1;
        p.external = Some(format!("EXT-{:06}", *next_ext));
    }
    if rng.gen_bool(0.85) {
        p.emails.push(email(rng, &p, used));
    }
    p
}

fn render(rng: &mut StdRng, p: &Person) -> ScanRecord {
    let mut parts: Vec<String> = if p.family_first {
        p.family.iter().chain(&p.given).cloned().collect()
    } else {
        p.given.iter().chain(&p.family).cloned().collect()
    };
    parts.retain(|s| !s.is_empty());
    let mut r = ScanRecord::new(Uuid::from_u128(rng.gen()), parts.join(" "));
    r.emails.clone_from(&p.emails);
    r.phones = p.phone.iter().cloned().collect();
    if let Some((street, city, postal)) = &p.address {
        (r.street, r.city, r.postal_code) = (Some(street.clone()), Some(city.clone()), Some(postal.clone()));
    }
    r.company.clone_from(&p.company);
    r.birth_date = p.birth.map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"));
    r.external_id.clone_from(&p.external);
    r
}

/// One letter substituted, two swapped, one dropped or one doubled.
fn typo(rng: &mut StdRng, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 3 {
        return s.to_string();
    }
    let i = rng.gen_range(1..c.len());
    match rng.gen_range(0..4) {
        0 => c[i] = char::from(b'a' + rng.gen_range(0..26u8)),
        1 => c.swap(i - 1, i),
        2 => {
            c.remove(i);
        }
        _ => c.insert(i, c[i]),
    }
    c.into_iter().collect()
}

fn strip_accents(s: &str) -> String {
    s.nfkd().filter(|c| !is_combining_mark(*c)).collect()
}

/// A second entry of the same person, with one or more of the usual corruptions.
fn duplicate(rng: &mut StdRng, p: &Person, used: &mut HashSet<String>) -> ScanRecord {
    let mut d = p.clone();
    let mut changed = false;
    let mut roll = |rng: &mut StdRng, chance: f64| {
        let hit = rng.gen_bool(chance);
        changed |= hit;
        hit
    };
    if roll(rng, 0.3) {
        let all = d.given.len() + d.family.len();
        let k = rng.gen_range(0..all);
        let t = if k < d.given.len() { &mut d.given[k] } else { &mut d.family[k - d.given.len()] };
        *t = typo(rng, t);
    }
    if roll(rng, 0.1) {
        d.family_first = !d.family_first;
    }
    if roll(rng, 0.12) {
        match rng.gen_range(0..3) {
            0 => d.given.truncate(0),
            1 => d.family.truncate(0),
            _ => d.given = vec![d.given[0].chars().take(1).collect()],
        }
    }
    if roll(rng, 0.3) {
        d.given = d.given.iter().map(|s| strip_accents(s)).collect();
        d.family = d.family.iter().map(|s| strip_accents(s)).collect();
    }
    if roll(rng, 0.2) {
        d.emails.clear();
    } else if !d.emails.is_empty() && roll(rng, 0.08) {
        d.emails = vec![typo(rng, &d.emails[0])];
    } else if roll(rng, 0.12) {
        d.emails = vec![email(rng, &d, used)];
    }
    if roll(rng, 0.2) {
        d.phone = None;
    } else if roll(rng, 0.12) {
        d.phone = Some(phone(rng, d.country));
    }
    if roll(rng, 0.12) {
        d.address = Some(address(rng, d.country));
    } else if roll(rng, 0.15) {
        d.address = None;
    } else if let Some(a) = &mut d.address {
        if rng.gen_bool(0.2) {
            a.0 = a.0.replace("Street", "St").replace("Avenue", "Ave").replace("Road", "Rd").replace("straße", "str.");
        }
    }
    if roll(rng, 0.3) {
        d.company = None;
    }
    if roll(rng, 0.4) {
        d.birth = None;
    } else if let Some((y, m, day)) = d.birth {
        if roll(rng, 0.05) {
            d.birth = Some((y, day.min(12), m));
        }
    }
    if roll(rng, 0.5) {
        d.external = None;
    }
    if !changed {
        if let Some(g) = d.given.first_mut() {
            *g = typo(rng, g);
        }
    }
    if d.given.is_empty() && d.family.is_empty() {
        d.family.clone_from(&p.family);
    }
    let mut r = render(rng, &d);
    if rng.gen_bool(0.1) {
        r.name = if rng.gen_bool(0.5) { r.name.to_uppercase() } else { r.name.to_lowercase() };
    }
    r
}

/// `n` records; `dup_rate` of the people are entered again one or two times.
pub fn generate(n: usize, dup_rate: f64, seed: u64) -> Labelled {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut used = HashSet::new();
    let mut next_ext = 0;
    let mut people: Vec<Person> = Vec::new();
    let mut out: Vec<(ScanRecord, u32)> = Vec::with_capacity(n);
    while out.len() < n {
        let id = u32::try_from(people.len()).unwrap_or(u32::MAX);
        let mut p = person(&mut rng, &mut used, &mut next_ext);
        // A household member: another person with the family name, address and often the
        // landline of someone already there.
        if !people.is_empty() && rng.gen_bool(0.06) {
            let other = &people[rng.gen_range(0..people.len())];
            if other.address.is_some() {
                (p.family, p.family_first, p.country, p.address) =
                    (other.family.clone(), other.family_first, other.country, other.address.clone());
                if rng.gen_bool(0.4) {
                    p.phone.clone_from(&other.phone);
                }
            }
        }
        out.push((render(&mut rng, &p), id));
        if rng.gen_bool(dup_rate.clamp(0.0, 1.0)) {
            for _ in 0..rng.gen_range(1..=2) {
                if out.len() < n {
                    out.push((duplicate(&mut rng, &p, &mut used), id));
                }
            }
        }
        people.push(p);
    }
    out.shuffle(&mut rng);
    let (records, entity) = out.into_iter().unzip();
    Labelled { records, entity }
}
