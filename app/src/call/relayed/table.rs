//! Small keyed lists for the relayed transport's state (a few entries each): a
//! `BTreeMap` per key and value type would cost the wasm its own copy of the B-tree
//! code, these a few instructions.

/// The value under `key`.
pub fn get<'a, K: PartialEq, V>(table: &'a [(K, V)], key: &K) -> Option<&'a V> {
    table.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Sets the value under `key`, in place if it was there (the order stays), else last.
pub fn set<K: PartialEq, V>(table: &mut Vec<(K, V)>, key: K, value: V) {
    match table.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => *v = value,
        None => table.push((key, value)),
    }
}
