import Engine
import Testing

@Suite struct GlobTests {
    @Test("Patterns behave as Redis's KEYS", arguments: [
        ("*", "anything", true), ("h?llo", "hello", true), ("h?llo", "hllo", false),
        ("h*llo", "heeeello", true), ("h[ae]llo", "hallo", true), ("h[ae]llo", "hillo", false),
        ("h[^e]llo", "hallo", true), ("h[^e]llo", "hello", false), ("h[a-b]llo", "hbllo", true),
        ("h\\*llo", "h*llo", true), ("h\\*llo", "hello", false), ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "aXXbYY", false), ("", "", true), ("*", "", true), ("key:*", "key:1", true),
        ("[a-", "a", true),
    ])
    func matching(pattern: String, text: String, expected: Bool) {
        #expect(Glob.matches(pattern, text) == expected)
    }

    @Test func ignoringCase() {
        #expect(Glob.matches("MAX*", "maxmemory", ignoringCase: true))
        #expect(!Glob.matches("MAX*", "maxmemory"))
    }

    @Test func pathologicalPatternTerminates() {
        let pattern = String(repeating: "a*", count: 40) + "b"
        #expect(!Glob.matches(pattern, String(repeating: "a", count: 100)))
    }
}
