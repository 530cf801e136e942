//! Enums whose values have names: statuses, run modes, reasons, error
//! codes. `named_enum!` defines one from a single list of
//! `Variant = number => "name"`, so that a variant, its number, its name and
//! its place in `ALL` are written once and cannot disagree.

/// An enum made by `named_enum!`, as generic code sees it (the
/// vocabulary builds its lists of names from this).
pub trait Named: Copy + 'static {
    /// The type's name (`Status`).
    const TYPE: &'static str;
    /// The name of every value, in the order of their numbers.
    const NAMES: &'static [&'static str];
}

/// Defines an enum from one list of `Variant = number => "name"` (each with
/// its doc comments), with:
///
/// - `ALL`: every value, in the order of their numbers (a reference to an
///   array: it iterates by reference like a slice and keeps its length in
///   its type);
/// - `as_str`: the value's name;
/// - `parse`: the value of a name, if it is one;
/// - an implementation of [`Named`].
///
/// Attributes before `enum` (docs, derives, `#[repr(u8)]`) are kept as
/// written. It does not compile when two values share a name, and it fails
/// to compile (a constant's evaluation fails) when the numbers do not rise
/// through the list.
macro_rules! named_enum {
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$variant_attr:meta])*
                $variant:ident = $number:literal => $text:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis enum $name {
            $(
                $(#[$variant_attr])*
                $variant = $number,
            )+
        }

        impl $name {
            #[doc = concat!("Every `", stringify!($name), "`, in the order of their numbers.")]
            $vis const ALL: &'static [$name; [$(stringify!($variant)),+].len()] =
                &[$($name::$variant),+];

            #[doc = concat!("The `", stringify!($name), "` as users read and write it.")]
            $vis fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            #[doc = concat!("Parses a `", stringify!($name), "` as [`Self::as_str`] writes it.")]
            // Two values with one name would make an unreachable arm.
            #[deny(unreachable_patterns)]
            $vis fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl $crate::names::Named for $name {
            const TYPE: &'static str = stringify!($name);
            const NAMES: &'static [&'static str] = &[$($text),+];
        }

        const _: () = {
            let numbers = [$($number),+];
            let mut i = 1;
            while i < numbers.len() {
                assert!(
                    numbers[i - 1] < numbers[i],
                    concat!("the numbers of ", stringify!($name), " must rise through its list")
                );
                i += 1;
            }
        };
    };
}

pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    use super::Named;

    named_enum! {
        /// A test enum.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        enum Colour {
            /// The first.
            Red = 2 => "red",
            Light = 5 => "light-blue",
        }
    }

    #[test]
    fn one_list_gives_numbers_names_and_all() {
        assert_eq!(Colour::ALL, &[Colour::Red, Colour::Light]);
        assert_eq!(Colour::Light as u8, 5);
        assert_eq!(Colour::Light.as_str(), "light-blue");
        assert_eq!(Colour::parse("red"), Some(Colour::Red));
        assert_eq!(Colour::parse("Red"), None);
        assert_eq!(Colour::TYPE, "Colour");
        assert_eq!(Colour::NAMES, &["red", "light-blue"]);
    }
}
