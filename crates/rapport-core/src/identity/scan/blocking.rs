//! Candidate pairs: records that share at least one blocking key. Each key is built so that a
//! duplicate survives one kind of corruption (a typo, swapped names, a move, a lost email),
//! and the union of all keys finds pairs that no single key would.

use super::features::Features;

/// Where the candidate pairs came from.
pub(super) struct Candidates {
    /// `(i, j)` with `i < j`, indexes into the records, packed by `pack`, sorted and without
    /// repeats: eight bytes a pair.
    pub pairs: Vec<u64>,
    /// Blocks left out because they were larger than `max_block`.
    pub skipped_blocks: u64,
}

/// FNV-1a: tiny, stable across Rust versions and platforms, good enough to group keys. A
/// collision only adds candidate pairs, which are then compared in full; it never loses one.
fn hash(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    eat(kind);
    for p in parts {
        for b in *p {
            eat(*b);
        }
        eat(0xff);
    }
    h
}

/// The blocking keys of one record.
pub(super) fn keys(f: &Features, out: &mut Vec<u64>) {
    for e in &f.emails {
        out.push(hash(1, &[e.text.as_bytes()]));
    }
    for p in &f.phones {
        out.push(hash(2, &[p.digits.as_bytes()]));
        // The same subscriber number under another area or country code, or a number written
        // in a local form the caller could not make E.164.
        if let Some(l) = p.last7 {
            out.push(hash(3, &[&l.to_le_bytes()]));
        }
    }
    let name = &f.name;
    // The phonetic code of one token with the initial of another survives typos that keep the
    // sound, accents, swapped order and a dropped middle name, and stays specific enough that
    // "Smith" alone does not make one huge block.
    for (i, t) in name.iter().enumerate() {
        if t.phonetic.is_empty() {
            continue;
        }
        let mut others = 0;
        for (j, o) in name.iter().enumerate() {
            if i != j {
                let mut buf = [0u8; 4];
                out.push(hash(4, &[t.phonetic.as_bytes(), o.initial.encode_utf8(&mut buf).as_bytes()]));
                others += 1;
            }
        }
        // A name reduced to one token still meets the records with that token and any other.
        if others == 0 {
            out.push(hash(9, &[t.phonetic.as_bytes()]));
        }
    }
    // Exact names in any order, even when no token has a phonetic code (non-Latin scripts).
    if name.len() > 1 {
        let mut sorted: Vec<&str> = name.iter().map(|t| t.text.as_str()).collect();
        sorted.sort_unstable();
        out.push(hash(5, &[sorted.join(" ").as_bytes()]));
    }
    if let Some(p) = &f.postal {
        for t in name {
            let mut buf = [0u8; 4];
            out.push(hash(6, &[p.text.as_bytes(), t.initial.encode_utf8(&mut buf).as_bytes()]));
        }
    }
    if let Some(b) = &f.birth {
        out.push(hash(7, &[b.text.as_bytes()]));
    }
    if let Some(x) = &f.external {
        out.push(hash(8, &[x.text.as_bytes()]));
    }
}

/// Two record indexes in one number, the smaller first.
pub(super) fn pack(i: u32, j: u32) -> u64 {
    u64::from(i) << 32 | u64::from(j)
}

/// The two record indexes of a packed pair.
pub(super) fn unpack(p: u64) -> (u32, u32) {
    // The low half fits u32 by construction; the truncation is the unpacking.
    #[allow(clippy::cast_possible_truncation)]
    ((p >> 32) as u32, p as u32)
}

/// All pairs that share a key, from blocks of at most `max_block` records.
///
/// A larger block is skipped whole: its pairs grow with the square of its size, so one key
/// shared by thousands of records (a very common surname with a common initial, a shared
/// switchboard number, a placeholder birth date like 1900-01-01) would cost more than the
/// rest of the scan together while saying little about identity. The true duplicates in such
/// a block almost always share another, more specific key and are found through it.
pub(super) fn candidates(features: &[Features], max_block: usize) -> Candidates {
    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(features.len() * 12);
    let mut buf = Vec::new();
    for (i, f) in features.iter().enumerate() {
        buf.clear();
        keys(f, &mut buf);
        buf.sort_unstable();
        buf.dedup();
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        entries.extend(buf.iter().map(|k| (*k, i)));
    }
    entries.sort_unstable();
    let blocks = || entries.chunk_by(|x, y| x.0 == y.0).filter(|b| b.len() >= 2);
    // Counted first, so the list is allocated once at its size: at 100,000 records it holds
    // millions of pairs, and a growing vector would briefly need twice that.
    let total: usize = blocks().filter(|b| b.len() <= max_block).map(|b| b.len() * (b.len() - 1) / 2).sum();
    let skipped_blocks = blocks().filter(|b| b.len() > max_block).count() as u64;
    let mut pairs: Vec<u64> = Vec::with_capacity(total);
    for block in blocks().filter(|b| b.len() <= max_block) {
        for (n, x) in block.iter().enumerate() {
            for y in &block[n + 1..] {
                pairs.push(pack(x.1, y.1));
            }
        }
    }
    drop(entries);
    pairs.sort_unstable();
    pairs.dedup();
    pairs.shrink_to_fit();
    Candidates { pairs, skipped_blocks }
}

#[cfg(test)]
mod tests {
    use super::super::features::build;
    use super::super::ScanRecord;
    use super::*;

    fn rec(n: u128, name: &str) -> ScanRecord {
        ScanRecord::new(uuid::Uuid::from_u128(n), name)
    }

    #[test]
    fn finds_swapped_misspelt_and_shortened_names() {
        let records = [
            rec(1, "Siobhán O'Sullivan"),
            rec(2, "OSullivan Siobhan"),
            rec(3, "Siobhan O'Sulivan"),
            rec(4, "Wojciech Kowalski"),
        ];
        let c = candidates(&build(&records), 200);
        assert_eq!(c.pairs, vec![pack(0, 1), pack(0, 2), pack(1, 2)]);
    }

    #[test]
    fn shared_contacts_and_ids_block_together() {
        let mut a = rec(1, "Anna Schmidt");
        let mut b = rec(2, "Hans Weber");
        a.emails = vec!["shared@example.com".into()];
        b.emails = vec!["shared@example.com".into()];
        let mut c = rec(3, "Chinedu Okafor");
        let mut d = rec(4, "Ngozi Eze");
        c.phones = vec!["+447700900123".into()];
        d.phones = vec!["+493010900123".into()];
        let got = candidates(&build(&[a, b, c, d]), 200);
        assert_eq!(got.pairs, vec![pack(0, 1), pack(2, 3)]);
    }

    #[test]
    fn oversized_blocks_are_skipped() {
        let records: Vec<ScanRecord> = (0..5).map(|n| rec(n, "John Smith")).collect();
        let c = candidates(&build(&records), 3);
        assert!(c.pairs.is_empty());
        assert!(c.skipped_blocks > 0);
    }
}
