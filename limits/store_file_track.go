package limits

import "context"

// Tracked implements Store.
func (fs *FileStore) Tracked(ctx context.Context, owner string) ([]TrackedOrder, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return nil, err
	}
	return fs.s.trackedOrders(owner), nil
}

// UpdateOrder implements Store. An update that changes nothing writes
// nothing.
func (fs *FileStore) UpdateOrder(ctx context.Context, owner string, u OrderUpdate) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if err := fs.usable(ctx); err != nil {
		return err
	}
	if !fs.s.updates(owner, &u) {
		return nil
	}
	filled := u.Filled
	if err := fs.append(&record{Op: opUpdate, Owner: owner, Order: u.ID, Client: u.ClientID, Key: u.Symbol, Closed: u.Closed, Filled: &filled}); err != nil {
		return err
	}
	fs.s.updateOrder(owner, u)
	fs.afterWrite()
	return nil
}
