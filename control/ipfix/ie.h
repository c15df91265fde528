// IPFIX Information Elements Haystack exports (IANA registry ids, RFC 7011/7012/5477/5610),
// and the enterprise-specific ones under PEN 32473 (the documentation PEN of RFC 5612).
// docs/ipfix.md lists every template built from them.
#pragma once

#include <cstdint>

namespace haystack::ipfix {

inline constexpr uint16_t kVersion = 10;
inline constexpr uint16_t kTemplateSetId = 2;
inline constexpr uint16_t kOptionsTemplateSetId = 3;
inline constexpr uint16_t kMinDataSetId = 256;
inline constexpr uint16_t kVariableLength = 0xffff;
inline constexpr uint16_t kEnterpriseBit = 0x8000;
inline constexpr uint32_t kHaystackPen = 32473;  // RFC 5612 documentation PEN

namespace ie {
// IANA
inline constexpr uint16_t octetDeltaCount = 1;
inline constexpr uint16_t packetDeltaCount = 2;
inline constexpr uint16_t deltaFlowCount = 3;
inline constexpr uint16_t protocolIdentifier = 4;
inline constexpr uint16_t sourceTransportPort = 7;
inline constexpr uint16_t sourceIPv4PrefixLength = 9;
inline constexpr uint16_t destinationTransportPort = 11;
inline constexpr uint16_t destinationIPv4PrefixLength = 13;
inline constexpr uint16_t sourceIPv6PrefixLength = 29;
inline constexpr uint16_t destinationIPv6PrefixLength = 30;
inline constexpr uint16_t samplingInterval = 34;
inline constexpr uint16_t samplingAlgorithm = 35;
inline constexpr uint16_t sourceIPv4Prefix = 44;
inline constexpr uint16_t destinationIPv4Prefix = 45;
inline constexpr uint16_t flowStartSeconds = 150;
inline constexpr uint16_t flowEndSeconds = 151;
inline constexpr uint16_t flowStartMilliseconds = 152;
inline constexpr uint16_t flowEndMilliseconds = 153;
inline constexpr uint16_t destinationIPv6Prefix = 169;
inline constexpr uint16_t sourceIPv6Prefix = 170;
inline constexpr uint16_t selectorId = 302;
inline constexpr uint16_t selectorAlgorithm = 304;
inline constexpr uint16_t samplingPacketInterval = 305;
inline constexpr uint16_t samplingPacketSpace = 306;

// Enterprise-specific, PEN kHaystackPen.
inline constexpr uint16_t hsFeatureSet = 1;              // unsigned8: FeatureSet enum value
inline constexpr uint16_t hsSourcePortPrefixLength = 2;  // unsigned8: 0..16
inline constexpr uint16_t hsDestinationPortPrefixLength = 3;
inline constexpr uint16_t hsWindowKind = 10;      // unsigned8: 0 hour, 1 day
inline constexpr uint16_t hsSubscriberLine = 11;  // string: (pseudonymised) line id
inline constexpr uint16_t hsServiceKey = 12;      // string
inline constexpr uint16_t hsDetectionLevel =
    13;  // unsigned8: 0 platform, 1 manufacturer, 2 product
inline constexpr uint16_t hsDomainsContacted = 14;  // unsigned32
inline constexpr uint16_t hsDomainsRequired = 15;   // unsigned32
inline constexpr uint16_t hsDomainsTotal = 16;      // unsigned32
inline constexpr uint16_t hsActiveHours = 17;       // unsigned32 (0/1 for hourly windows)
inline constexpr uint16_t hsActive = 18;            // boolean (RFC 7011: 1 true, 2 false)
inline constexpr uint16_t hsPrefixesSeen = 20;      // unsigned32: IPv6 /56 prefixes seen
inline constexpr uint16_t hsPrefixesExposed = 21;   // unsigned32: of which with EUI-64
inline constexpr uint16_t hsPrefixId = 22;          // string: pseudonymised /56
inline constexpr uint16_t hsMacId = 23;             // string: pseudonymised MAC
inline constexpr uint16_t hsManufacturer = 24;      // string: OUI registry organisation
inline constexpr uint16_t hsIotOnly = 25;           // boolean: manufacturer makes only IoT
}  // namespace ie

}  // namespace haystack::ipfix
