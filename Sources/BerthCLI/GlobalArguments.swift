import ArgumentParser

/// Global options before the subcommand, as `docker -H … network ls` takes them:
/// `berth --state-dir DIR network ls`, `berth --json network --state-dir DIR ls`.
///
/// swift-argument-parser gives an option to the command that declares it, and only the leaf
/// commands declare `GlobalOptions` (the root declaring them too would also take them from after
/// the subcommand, `demo`'s own `--backend` included). So the arguments are rewritten before
/// parsing: the global options met on the way down to the leaf subcommand move right after the
/// leaf's name, where its `GlobalOptions` parses them with the usual validation and errors.
enum GlobalArguments {
    /// - Parameters:
    ///   - arguments: the command line without the program name.
    ///   - root: the command whose subcommands are walked (`BerthCommand`).
    /// - Returns: `arguments` with the global options (`--name value`, `--name=value`, `--json`)
    ///   found before the leaf subcommand's name moved, in their order, right after it. When an
    ///   argument that names no subcommand comes first (unknown, `--help`), the global options
    ///   before it are dropped, so the parser reports (or helps with) that argument. Unchanged when
    ///   the arguments end before a leaf, or when `--` or a global option without its value comes
    ///   first: the parser then reports it as it does today.
    static func hoist(_ arguments: [String], root: any ParsableCommand.Type = BerthCommand.self) -> [String] {
        var command = root
        var names: [String] = []
        var lifted: [String] = []
        var i = arguments.startIndex
        while i < arguments.endIndex {
            let argument = arguments[i]
            if let option = globalOption(argument) {
                if !option.takesValue || argument.contains("=") {
                    lifted.append(argument)
                    i += 1
                } else {
                    guard i + 1 < arguments.endIndex, arguments[i + 1] != "--" else { return arguments }
                    lifted += arguments[i...(i + 1)]
                    i += 2
                }
                continue
            }
            guard let sub = command.configuration.subcommands.first(where: { $0.matches(argument) }) else {
                // Not a subcommand (`berth --json bogus`, `berth --json --help`): without the global
                // options the parser reports the argument itself, not an option it cannot place.
                return lifted.isEmpty ? arguments : names + arguments[i...]
            }
            names.append(argument)
            command = sub
            i += 1
            if sub.configuration.subcommands.isEmpty {
                return names + lifted + arguments[i...]
            }
        }
        return arguments
    }

    /// The global option `argument` names (`--state-dir`, `--state-dir=DIR`), if any.
    private static func globalOption(_ argument: String) -> GlobalOptions.Name? {
        guard argument.hasPrefix("--") else { return nil }
        let name = argument.dropFirst(2).prefix { $0 != "=" }
        return GlobalOptions.Name(rawValue: String(name))
    }
}

private extension ParsableCommand {
    static func matches(_ argument: String) -> Bool {
        _commandName == argument || configuration.aliases.contains(argument)
    }
}
