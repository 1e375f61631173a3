import DequeModule

/// A list: a double-ended queue of elements, O(1) at both ends at any length. A class, so a
/// push changes it in place instead of copying it (DESIGN.md §5).
public final class ListValue {
    public var items: Deque<Element>

    public init(_ items: Deque<Element> = []) {
        self.items = items
    }

    public var count: Int { items.count }

    /// OBJECT ENCODING: the name Redis 7.0 gives every list (DESIGN.md §1), whatever the
    /// deque underneath.
    public var encodingName: String { "quicklist" }

    /// A list index, negative from the end, as a position; nil when outside.
    public func position(_ index: Int) -> Int? {
        let position = index < 0 ? count + index : index
        return position >= 0 && position < count ? position : nil
    }
}
