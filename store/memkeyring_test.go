package store

import (
	"slices"
	"sync"

	"github.com/99designs/keyring"
)

// memKeyring is an in-memory keyring.Keyring standing in for an OS backend.
type memKeyring struct {
	mu    sync.Mutex
	items map[string][]byte
}

func newMemKeyring() *memKeyring { return &memKeyring{items: map[string][]byte{}} }

func (m *memKeyring) Get(key string) (keyring.Item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.items[key]
	if !ok {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	return keyring.Item{Key: key, Data: slices.Clone(d)}, nil
}

func (m *memKeyring) GetMetadata(key string) (keyring.Metadata, error) {
	return keyring.Metadata{}, keyring.ErrMetadataNotSupported
}

func (m *memKeyring) Set(it keyring.Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[it.Key] = slices.Clone(it.Data)
	return nil
}

func (m *memKeyring) Remove(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.items[key]; !ok {
		return keyring.ErrKeyNotFound
	}
	delete(m.items, key)
	return nil
}

func (m *memKeyring) Keys() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.items))
	for k := range m.items {
		keys = append(keys, k)
	}
	return keys, nil
}
